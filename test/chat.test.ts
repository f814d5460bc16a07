import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, key, RequestError, sleep, startServer, type TestServer } from './helpers.js';

describe('chat between users over real WebSockets', () => {
  let srv: TestServer;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv.close(); });

  test('two users chat; a third user sees nothing of it', async () => {
    const alice = await Client.login(srv.url, { username: 'alice' });
    const bob = await Client.login(srv.url, { username: 'bob' });
    const carol = await Client.login(srv.url, { username: 'carol' });

    const ack = await alice.send('bob', 'hello bob');
    assert.equal(ack.duplicate, false);
    assert.equal(ack.message.seq, 1);
    assert.equal(ack.message.sender, 'alice');
    assert.match(ack.message.id, /^\d+$/);
    assert.ok(Math.abs(ack.message.sentAt - Date.now()) < 5000);
    await bob.until(() => bob.messages.length === 1, 5000, 'bob to receive');
    assert.equal(bob.messages[0]!.text, 'hello bob');
    assert.equal(bob.messages[0]!.conversationId, ack.message.conversationId);

    const reply = await bob.send('alice', 'hi alice');
    assert.equal(reply.message.conversationId, ack.message.conversationId, 'one direct conversation per pair');
    assert.equal(reply.message.seq, 2);
    await alice.until(() => alice.messages.length === 1, 5000, 'alice to receive');
    assert.equal(alice.messages[0]!.text, 'hi alice');

    // Carol: no pushes, no conversation, no history access, nothing via sync.
    await sleep(100);
    assert.equal(carol.messages.length, 0);
    const convs = await carol.request('conversations');
    assert.deepEqual(convs.conversations, []);
    await assert.rejects(carol.request('history', { conversationId: ack.message.conversationId }), (e: RequestError) => e.code === 'not_found');
    await assert.rejects(carol.request('send', { conversationId: ack.message.conversationId, text: 'intrude', clientId: 'x1' }), (e: RequestError) => e.code === 'not_found');
    const sync = await carol.request('sync', { token: 'p1.0' });
    assert.deepEqual(sync.messages, []);
    for (const c of [alice, bob, carol]) c.close();
  });

  test('every connection of the recipient and every other connection of the sender receives', async () => {
    const d1 = await Client.login(srv.url, { username: 'dave' });
    const d2 = await Client.login(srv.url, { username: 'dave' });
    const d3 = await Client.login(srv.url, { username: 'DAVE' });
    assert.equal(d3.username, 'dave', 'usernames are case-insensitive and keep their first spelling');
    const e1 = await Client.login(srv.url, { username: 'erin' });
    const e2 = await Client.login(srv.url, { username: 'erin' });

    const ack = await e1.send('Dave', 'to all your devices');
    for (const c of [d1, d2, d3]) await c.until(() => c.messages.length === 1, 5000, 'dave device');
    for (const c of [d1, d2, d3]) assert.equal(c.messages[0]!.id, ack.message.id);
    await e2.until(() => e2.messages.length === 1, 5000, "sender's second device");
    assert.equal(e2.messages[0]!.id, ack.message.id);
    await sleep(100);
    assert.equal(e1.messages.length, 0, 'the sending connection gets the ack, not a push');

    // Pushes carry the receiving user's position, with a token to resume from.
    const push = d1.pushes[0]!;
    assert.equal(typeof push.pos, 'number');
    assert.equal(typeof push.token, 'string');
    assert.equal(e2.pushes[0]!.pos, ack.pos, "sender's devices see the sender's position");
    for (const c of [d1, d2, d3, e1, e2]) c.close();
  });

  test('positions rise by one per change; sync from a push token returns only later changes', async () => {
    const f = await Client.login(srv.url, { username: 'frank' });
    const g = await Client.login(srv.url, { username: 'grace' });
    await f.send('grace', 'one');
    await f.send('grace', 'two');
    await f.send('grace', 'three');
    await g.until(() => g.pushes.length === 3);
    const positions = g.pushes.map((p) => p.pos);
    assert.deepEqual(positions, [positions[0]!, positions[0]! + 1, positions[0]! + 2]);
    const r = await g.syncAll(g.pushes[0]!.token as string);
    assert.deepEqual(r.messages.map((m) => m.text), ['two', 'three']);
    f.close();
    g.close();
  });

  test('a retried send with the same client id returns the original and stores nothing new', async () => {
    const h = await Client.login(srv.url, { username: 'heidi' });
    const i = await Client.login(srv.url, { username: 'ivan' });
    const first = await h.send('ivan', 'only once', 'retry-1');
    const again = await h.send('ivan', 'only once', 'retry-1');
    assert.equal(again.duplicate, true);
    assert.deepEqual(again.message, first.message);
    assert.equal(again.pos, undefined);
    // Even concurrent retries in one batch store one message.
    const burst = await Promise.all([1, 2, 3].map(() => h.send('ivan', 'burst', 'retry-2')));
    assert.equal(burst.filter((b) => !b.duplicate).length, 1);
    assert.equal(new Set(burst.map((b) => b.message.id)).size, 1);

    const hist = await i.request('history', { conversationId: first.message.conversationId });
    assert.deepEqual(hist.messages.map((m) => m.text), ['only once', 'burst']);
    await sleep(100);
    assert.equal(i.messages.length, 2, 'the recipient was pushed each message once');
    h.close();
    i.close();
  });

  test('history pages backwards', async () => {
    const j = await Client.login(srv.url, { username: 'judy' });
    const k = await Client.login(srv.url, { username: 'karl' });
    for (let n = 1; n <= 25; n++) await j.send('karl', `m${n}`);
    const conv = (await k.request('conversations')).conversations[0]!;
    assert.equal(conv.lastSeq, 25);
    assert.equal(conv.lastMessage?.text, 'm25');
    assert.deepEqual(conv.members, ['judy', 'karl']);
    const p1 = await k.request('history', { conversationId: conv.id, limit: 10 });
    assert.deepEqual(p1.messages.map((m) => m.seq), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    assert.equal(p1.hasMore, true);
    const p3 = await k.request('history', { conversationId: conv.id, before: 6, limit: 10 });
    assert.deepEqual(p3.messages.map((m) => m.seq), [1, 2, 3, 4, 5]);
    assert.equal(p3.hasMore, false);
    j.close();
    k.close();
  });

  test('a device resumes with its session token as the same device', async () => {
    const a = await Client.login(srv.url, { username: 'leo' });
    const first = await a.request('ping');
    assert.equal(typeof first.time, 'number');
    a.close();
    const b = await Client.connect(srv.url);
    const r = await b.request('login', { token: a.token });
    assert.equal(r.resumed, true);
    assert.equal(r.user.username, 'leo');
    const fresh = await Client.connect(srv.url);
    const other = await fresh.request('login', { username: 'leo' });
    assert.notEqual(other.deviceId, r.deviceId, 'a log in by username is a new device');
    const again = await Client.connect(srv.url);
    const resumed = await again.request('login', { token: other.token });
    assert.equal(resumed.deviceId, other.deviceId);
    for (const c of [b, fresh, again]) c.close();
  });

  test('message order: each conversation arrives in seq order, de-duplicable by (conversation, seq)', async () => {
    const m = await Client.login(srv.url, { username: 'mallory' });
    const n = await Client.login(srv.url, { username: 'niaj' });
    await Promise.all(Array.from({ length: 50 }, (_, x) => m.send('niaj', `x${x}`)));
    await n.until(() => n.messages.length === 50);
    const seqs = n.messages.map((msg) => msg.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(n.messages.map(key)).size, 50);
    m.close();
    n.close();
  });
});
