/**
 * Bad input over the WebSocket: each gets its stable error code, nothing is
 * stored, the connection stays usable where the policy says so, and other
 * users keep chatting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, RequestError, sleep, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
before(async () => {
  srv = await startServer({ MAX_FRAME_BYTES: '4096', MAX_MESSAGE_CHARS: '100', SEND_RATE: '5', SEND_BURST: '5', MAX_CONNECTIONS_PER_USER: '3' });
});
after(async () => { await srv.close(); });

const code = (expected: string) => (e: unknown) => e instanceof RequestError && e.code === expected;

/** The next unsolicited error frame (one that answers no pending request). */
async function nextError(c: Client) {
  const n = c.errors.length;
  await c.until(() => c.errors.length > n, 3000, 'an error frame');
  return c.errors[n] as unknown as { id: string | null; error: { code: string; message: string } };
}

async function stillWorks(c: Client) {
  const r = await c.request('ping');
  assert.equal(typeof r.time, 'number');
}

describe('bad frames', () => {
  let alice: Client;
  let bob: Client;
  before(async () => {
    alice = await Client.login(srv.url, { username: 'alice' });
    bob = await Client.login(srv.url, { username: 'bob' });
  });
  after(() => { alice.close(); bob.close(); });

  test('not JSON: bad_request with id null, connection keeps working', async () => {
    alice.sendRaw('{"type": "send", oops');
    const e = await nextError(alice);
    assert.equal(e.id, null);
    assert.equal(e.error.code, 'bad_request');
    await stillWorks(alice);
  });

  test('JSON that is not an object, binary frames', async () => {
    for (const raw of ['[1,2]', '42', 'null', '"x"']) {
      alice.sendRaw(raw);
      assert.equal((await nextError(alice)).error.code, 'bad_request', raw);
    }
    alice.sendRaw(Buffer.from('{"type":"ping","id":"b"}'), { binary: true });
    assert.equal((await nextError(alice)).error.code, 'bad_request');
    await stillWorks(alice);
  });

  test('unknown frame type, missing or wrongly typed fields, unknown fields: bad_request naming the request', async () => {
    await assert.rejects(alice.request('nonsense' as 'ping'), code('bad_request'));
    await assert.rejects(alice.request('send', { to: 'bob', text: 'no client id' }), code('bad_request'));
    await assert.rejects(alice.request('send', { clientId: 'a', to: 'bob', text: 42 }), code('bad_request'));
    await assert.rejects(alice.request('send', { clientId: 'a', to: ['bob'], text: 'x' }), code('bad_request'));
    await assert.rejects(alice.request('send', { clientId: 'a', to: 'bob', text: 'x', extra: true }), code('bad_request'));
    await assert.rejects(alice.request('history', { conversationId: 'abc' }), code('bad_request'));
    await assert.rejects(alice.request('history', { conversationId: '1', limit: -5 }), code('bad_request'));
    await assert.rejects(alice.request('sync', { token: 'forged-token' }), code('bad_request'));
    await assert.rejects(alice.request('send', { clientId: '', to: 'bob', text: 'x' }), code('bad_request'));
    await assert.rejects(alice.request('send', { clientId: 'blank', to: 'bob', text: '   ' }), code('bad_request'));
    // A frame without a usable id is answered with id null.
    alice.sendRaw(JSON.stringify({ type: 'ping', id: 7 }));
    assert.equal((await nextError(alice)).id, null);
    // Prototype-pollution keys are just unknown fields.
    alice.sendRaw('{"type":"send","id":"pp","clientId":"p","to":"bob","text":"x","__proto__":{"admin":true}}');
    await sleep(50);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    await stillWorks(alice);
  });

  test('text over the length limit: too_large, nothing stored', async () => {
    await assert.rejects(alice.send('bob', 'x'.repeat(101)), code('too_large'));
    // Code points, not UTF-16 units: 100 emoji fit.
    const ok = await alice.send('bob', '😀'.repeat(100));
    assert.equal(ok.message.seq, 1);
    const hist = await bob.request('history', { conversationId: ok.message.conversationId });
    assert.equal(hist.messages.length, 1);
  });

  test('a send to an unknown user: not_found, nothing stored', async () => {
    await assert.rejects(alice.send('nobody-here', 'hello?'), code('not_found'));
    const convs = await alice.request('conversations');
    assert.ok(convs.conversations.every((c) => !c.members.includes('nobody-here')));
  });

  test("a history request or send into another's conversation: not_found, as if it did not exist", async () => {
    const carol = await Client.login(srv.url, { username: 'carol' });
    const dave = await Client.login(srv.url, { username: 'dave' });
    const theirs = await carol.send('dave', 'private');
    await assert.rejects(alice.request('history', { conversationId: theirs.message.conversationId }), code('not_found'));
    await assert.rejects(alice.request('history', { conversationId: '999999' }), code('not_found'));
    await assert.rejects(alice.request('send', { clientId: 'sneak', conversationId: theirs.message.conversationId, text: 'hi' }), code('not_found'));
    const hist = await dave.request('history', { conversationId: theirs.message.conversationId });
    assert.deepEqual(hist.messages.map((m) => m.text), ['private']);
    carol.close();
    dave.close();
  });

  test('logging in twice on one connection: conflict', async () => {
    await assert.rejects(alice.request('login', { username: 'mallory' }), code('conflict'));
    await stillWorks(alice);
    // Also when the second login arrives before the first has finished.
    const fresh = await Client.connect(srv.url);
    const both = await Promise.allSettled([fresh.request('login', { username: 'racer1' }), fresh.request('login', { username: 'racer2' })]);
    assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(both.some((r) => r.status === 'rejected' && (r.reason as RequestError).code === 'conflict'));
    fresh.close();
  });
});

test('requests before log in: unauthorized; a bad token: unauthorized', async () => {
  const c = await Client.connect(srv.url);
  await assert.rejects(c.request('send', { clientId: 'a', to: 'bob', text: 'x' }), code('unauthorized'));
  await assert.rejects(c.request('sync', {}), code('unauthorized'));
  await assert.rejects(c.request('login', { token: 'x'.repeat(43) }), code('unauthorized'));
  await assert.rejects(c.request('login', { username: 'no spaces allowed' }), code('bad_request'));
  await assert.rejects(c.request('login', { username: 'ab' }), code('bad_request'));
  await stillWorks(c);
  const r = await c.request('login', { username: 'late-comer' });
  assert.equal(r.user.username, 'late-comer');
  c.close();
});

test('a frame over the size limit closes the socket with 1009; the server keeps serving', async () => {
  const c = await Client.login(srv.url, { username: 'bigmouth' });
  const other = await Client.login(srv.url, { username: 'listener' });
  c.sendRaw(JSON.stringify({ type: 'send', id: '1', clientId: 'big', to: 'listener', text: 'y'.repeat(5000) }));
  const closed = await c.closed;
  assert.equal(closed.code, 1009);
  const again = await Client.login(srv.url, { username: 'bigmouth' });
  await again.send('listener', 'small again');
  await other.until(() => other.messages.length === 1);
  assert.equal(other.messages[0]!.text, 'small again', 'the oversized message was never stored or pushed');
  again.close();
  other.close();
});

test('sending too fast: rate_limited with retryAfterMs, rejected sends are not stored', async () => {
  const fast = await Client.login(srv.url, { username: 'speedy' });
  const target = await Client.login(srv.url, { username: 'target' });
  const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => fast.send('target', `n${i}`)));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const limited = results.filter((r) => r.status === 'rejected' && (r.reason as RequestError).code === 'rate_limited').length;
  assert.ok(ok >= 5 && ok <= 6, `burst of 5 allowed (got ${ok})`);
  assert.equal(ok + limited, 12);
  const hist = await target.request('conversations');
  assert.equal(hist.conversations[0]!.lastSeq, ok, 'only accepted sends were stored');
  // The error carries when to retry.
  fast.sendRaw(JSON.stringify({ type: 'send', id: 'rl', clientId: 'rl', to: 'target', text: 'again' }));
  const frame = await new Promise<{ error: { retryAfterMs?: number } }>((resolve) => {
    fast.ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.id === 'rl') resolve(f);
    });
  });
  assert.ok((frame.error.retryAfterMs ?? 0) > 0);
  fast.close();
  target.close();
});

test('connections per user are limited: rate_limited at log in', async () => {
  const conns = await Promise.all([1, 2, 3].map(() => Client.login(srv.url, { username: 'popular' })));
  const extra = await Client.connect(srv.url);
  const devicesBefore = (await conns[1]!.request('devices')).devices.length;
  await assert.rejects(extra.request('login', { username: 'popular' }), code('rate_limited'));
  assert.equal((await conns[1]!.request('devices')).devices.length, devicesBefore, 'a refused log in leaves no device behind');
  conns[0]!.close();
  await conns[0]!.closed;
  await sleep(50);
  const r = await extra.request('login', { username: 'popular' });
  assert.equal(r.user.username, 'popular');
  for (const c of [...conns, extra]) c.close();
});

test('other users keep chatting while one client sends garbage', async () => {
  const vandal = await Client.login(srv.url, { username: 'vandal' });
  const u1 = await Client.login(srv.url, { username: 'calm1' });
  const u2 = await Client.login(srv.url, { username: 'calm2' });
  const junk = ['{', '[]', '{"type":1}', '{"type":"send"}', '{"type":"history","id":"h","conversationId":"1"}', '\u0000\u0001', '{"id":"x".repeat(100)}'];
  for (let i = 0; i < 300; i++) vandal.sendRaw(junk[i % junk.length]!);
  const ack = await u1.send('calm2', 'still here');
  await u2.until(() => u2.messages.some((m) => m.id === ack.message.id));
  vandal.close();
  u1.close();
  u2.close();
});

test('unknown WebSocket paths are refused', async () => {
  await assert.rejects(Client.connect(srv.url.replace('/v1/ws', '/v2/ws')));
});
