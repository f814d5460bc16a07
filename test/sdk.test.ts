/** The SDK against real servers: exactly-once delivery across kill -9, dead links and mass reconnects. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Message } from '../src/protocol/schemas.js';
import { MemoryStorage } from '../sdk/src/index.js';
import { key, sleep, dropDatabases, freshDatabase, spawnServer, startServer, tempDir } from './helpers.js';
import { freePort, sdkClient, SilentProxy, until } from './sdk-helpers.js';

const tmp = tempDir();
after(async () => {
  await dropDatabases();
  tmp.cleanup();
});

function assertOncePerConversationInOrder(received: Message[], who: string) {
  const keys = received.map(key);
  assert.equal(new Set(keys).size, keys.length, `${who}: no message shown twice`);
  const lastSeq = new Map<string, number>();
  for (const m of received) {
    assert.ok((lastSeq.get(m.conversationId) ?? 0) < m.seq, `${who}: per-conversation order`);
    lastSeq.set(m.conversationId, m.seq);
  }
}

test('send, receive live, own messages once, conversation model', async () => {
  const srv = await startServer();
  const a = sdkClient(srv.url, 'amy');
  const b = sdkClient(srv.url, 'ben');
  await Promise.all([a.client.start(), b.client.start()]);
  const m = await a.client.send({ to: 'ben' }, 'hello ben');
  assert.equal(m.seq, 1);
  assert.deepEqual([a.client.conversation(m.conversationId)?.title, a.client.conversation(m.conversationId)?.members], ['ben', ['ben', 'amy']],
    "the sender's new direct conversation is titled with the peer before its full state arrives");
  await until(() => b.received.length === 1, 5000, 'ben receives');
  assert.equal(b.received[0]!.text, 'hello ben');
  assert.deepEqual(a.received.map((x) => x.id), [m.id], 'own message appears once, as acknowledged');
  const view = b.client.conversation(m.conversationId)!;
  assert.equal(view.title, 'amy');
  assert.equal(view.lastMessage?.text, 'hello ben');
  await b.client.send({ conversationId: m.conversationId }, 'hi amy');
  await until(() => a.received.length === 2, 5000, 'amy receives');
  assert.deepEqual(a.client.conversations().map((c) => c.id), [m.conversationId]);
  // History pages load into the model, older first.
  for (let i = 0; i < 5; i++) await a.client.send({ to: 'ben' }, `more ${i}`);
  const fresh = sdkClient(srv.url, 'ben');
  await fresh.client.start();
  await fresh.client.loadConversations();
  await fresh.client.loadOlder(m.conversationId, 3);
  await fresh.client.loadOlder(m.conversationId, 10);
  const seqs = fresh.client.conversation(m.conversationId)!.messages.map((x) => x.seq);
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(fresh.client.conversation(m.conversationId)!.complete, true);
  // A send the server refuses for good rejects and leaves the outbox.
  await assert.rejects(a.client.send({ to: 'nobody-at-all' }, 'x'), (e: Error & { code?: string }) => e.code === 'not_found');
  assert.equal(a.client.outboxSize, 0);
  for (const c of [a, b, fresh]) c.client.close();
  await srv.close();
});

test('kill -9 in the middle of a stream: every acked send arrives once, pending sends arrive after restart', async () => {
  const port = await freePort();
  const env = { PORT: String(port), DATABASE_URL: (await freshDatabase(tmp.dir, 'kill')).url, SEND_RATE: '100000', SEND_BURST: '100000' };
  let server = await spawnServer(env);
  const url = `ws://127.0.0.1:${port}/v1/ws`;
  const users = ['ann', 'bea', 'cid', 'dov'];
  const clients = users.map((u) => sdkClient(url, u, { storage: new MemoryStorage() }));
  await Promise.all(clients.map((c) => c.client.start()));

  const perClient = 150;
  const acked: Message[] = [];
  let ackedBeforeKill = -1;
  const sends = clients.flatMap((c, i) => Array.from({ length: perClient }, (_, n) => ({ c, to: users[(i + 1 + (n % 3)) % users.length]!, n })));
  const streams = clients.map(async (c, i) => {
    const mine = sends.filter((s) => s.c === c);
    const results: Promise<Message>[] = [];
    for (const s of mine) {
      results.push(c.client.send({ to: s.to }, `${users[i]} ${s.n}`).then((m) => { acked.push(m); return m; }));
      if (s.n % 10 === 9) await sleep(5);
    }
    return Promise.all(results);
  });
  await until(() => acked.length >= 200, 20000, '200 acks');
  server.child.kill('SIGKILL');
  await server.exited;
  ackedBeforeKill = acked.length;
  await sleep(300);
  server = await spawnServer(env);
  try {
    await Promise.all(streams);
    assert.equal(acked.length, users.length * perClient, 'every send was eventually acknowledged');
    assert.ok(ackedBeforeKill < acked.length, 'some sends were pending at the kill');
    // Every recipient gets every message addressed to it exactly once.
    for (const [i, c] of clients.entries()) {
      const expected = acked.filter((m) => m.sender !== users[i] && isFor(m, users[i]!));
      await until(() => c.received.filter((m) => m.sender !== users[i]).length >= expected.length, 15000, `${users[i]} receives all`);
      await sleep(200);
      const got = c.received.filter((m) => m.sender !== users[i]);
      assert.deepEqual(new Set(got.map((m) => m.id)), new Set(expected.map((m) => m.id)), `${users[i]}: everything, nothing extra`);
      assertOncePerConversationInOrder(c.received, users[i]!);
    }
  } finally {
    for (const c of clients) c.client.close();
    server.child.kill('SIGKILL');
    await server.exited;
  }

  function isFor(m: Message, user: string) {
    const n = Number(m.text.split(' ')[1]);
    const from = users.indexOf(m.sender);
    return users[(from + 1 + (n % 3)) % users.length] === user;
  }
});

test('a connection that dies silently is detected by the heartbeat and replaced', async () => {
  const srv = await startServer();
  const proxy = new SilentProxy(srv.port);
  const proxyPort = await proxy.listen();
  const viaProxy = `ws://127.0.0.1:${proxyPort}/v1/ws`;
  const heartbeatMs = 300;
  const heartbeatTimeoutMs = 300;
  const victim = sdkClient(viaProxy, 'vic', { heartbeatMs, heartbeatTimeoutMs });
  const friend = sdkClient(srv.url, 'fred');
  await Promise.all([victim.client.start(), friend.client.start()]);

  const states: [string, number][] = [];
  victim.client.on('state', (s) => states.push([s, Date.now()]));
  const frozenAt = Date.now();
  proxy.freezeExisting();
  await friend.client.send({ to: 'vic' }, 'sent into the void');
  await until(() => states.some(([s]) => s === 'online'), 5000, 'back online');
  const offlineAt = states.find(([s]) => s === 'offline')![1];
  const bound = 2 * heartbeatMs + heartbeatTimeoutMs;
  // The bound, plus slack for a loaded machine: the point is seconds, not the 30 s of an idle TCP timeout.
  assert.ok(offlineAt - frozenAt <= bound + 1000, `detected after ${offlineAt - frozenAt} ms (bound ${bound} ms)`);
  await until(() => victim.received.length === 1, 5000, 'the missed message arrives through sync');
  assert.equal(victim.received[0]!.text, 'sent into the void');
  victim.client.close();
  friend.client.close();
  await proxy.close();
  await srv.close();
});

test('100 clients reconnect at once after a server restart and all resume without loss', async () => {
  const port = await freePort();
  const env = { PORT: String(port), DATABASE_URL: (await freshDatabase(tmp.dir, 'hundred')).url, SEND_RATE: '100000', SEND_BURST: '100000', DRAIN_WINDOW_MS: '1000' };
  let server = await spawnServer(env);
  const url = `ws://127.0.0.1:${port}/v1/ws`;
  const n = 100;
  const names = Array.from({ length: n }, (_, i) => `user${String(i).padStart(3, '0')}`);
  const clients = names.map((u) => sdkClient(url, u, { backoff: { initialMs: 200, maxMs: 2000 } }));
  await Promise.all(clients.map((c) => c.client.start()));
  await Promise.all(clients.map((c, i) => c.client.send({ to: names[(i + 1) % n]! }, 'before restart')));

  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0, 'graceful shutdown exits 0');
  await until(() => clients.every((c) => c.client.state === 'offline' || c.client.state === 'connecting'), 5000, 'all offline');
  // Written while the server is down: kept in the outbox.
  const pending = clients.map((c, i) => c.client.send({ to: names[(i + 1) % n]! }, 'while down'));
  server = await spawnServer(env);
  try {
    await Promise.all(pending);
    await until(() => clients.every((c) => c.received.filter((m) => m.sender !== c.client.user?.username).length === 2), 20000, 'all delivered');
    await sleep(200);
    for (const [i, c] of clients.entries()) {
      const incoming = c.received.filter((m) => m.sender === names[(i + n - 1) % n]);
      assert.deepEqual(incoming.map((m) => m.text), ['before restart', 'while down'], names[i]);
      assertOncePerConversationInOrder(c.received, names[i]!);
      assert.equal(c.client.state, 'online');
    }
  } finally {
    for (const c of clients) c.client.close();
    server.child.kill('SIGKILL');
    await server.exited;
  }
});

test('the quick start example in sdk/README.md runs', async () => {
  const srv = await startServer();
  const { execFile } = await import('node:child_process');
  const { ROOT } = await import('./helpers.js');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'dist/sdk/examples/quickstart.js'), srv.url], { timeout: 15000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout));
  });
  assert.match(out, /alice's message is stored as seq 1/);
  assert.match(out, /bob got "hello from the SDK" from alice/);
  await srv.close();
});

test('SDK model: unread counts agree across devices, ticks go sent -> delivered -> seen, typing shows and expires', async () => {
  const srv = await startServer({ TYPING_TTL_MS: '500' });
  const alice = sdkClient(srv.url, 'alma', { deliveredDelayMs: 20 });
  const phone = sdkClient(srv.url, 'bert', { deliveredDelayMs: 20 });
  const laptop = sdkClient(srv.url, 'bert', { deliveredDelayMs: 20 });
  await Promise.all([alice.client.start(), phone.client.start(), laptop.client.start()]);
  const m1 = await alice.client.send({ to: 'bert' }, 'one');
  const m2 = await alice.client.send({ to: 'bert' }, 'two');
  await until(() => laptop.received.length === 2 && phone.received.length === 2, 5000, 'both devices receive');
  assert.equal(laptop.client.conversation(m1.conversationId)!.unread, 2);
  assert.equal(phone.client.conversation(m1.conversationId)!.unread, 2);
  // The SDK reports delivery by itself.
  await until(() => alice.client.status(m2).status === 'delivered', 5000, 'delivered tick');
  await phone.client.markRead(m1.conversationId);
  await until(() => laptop.client.conversation(m1.conversationId)!.unread === 0, 5000, 'laptop unread cleared');
  await until(() => alice.client.status(m2).status === 'seen', 5000, 'seen tick');
  assert.deepEqual(alice.client.status(m1), { status: 'seen', delivered: 1, seen: 1, of: 1 });
  // Typing shows on the other side and expires by itself.
  await phone.client.typing(m1.conversationId);
  await until(() => alice.client.conversation(m1.conversationId)!.typing.includes('bert'), 5000, 'typing shown');
  await until(() => alice.client.conversation(m1.conversationId)!.typing.length === 0, 5000, 'typing expired');
  // Groups through the SDK: a member's view follows renames and the timeline records them.
  const g = await alice.client.createGroup('Lunch', ['bert']);
  await until(() => laptop.client.conversation(g.id)?.title === 'Lunch', 5000, 'group appears');
  await alice.client.rename(g.id, 'Dinner');
  await until(() => laptop.client.conversation(g.id)?.title === 'Dinner', 5000, 'rename seen');
  assert.deepEqual(laptop.client.conversation(g.id)!.messages.map((m) => m.system?.event), ['created', 'renamed']);
  for (const c of [alice, phone, laptop]) c.client.close();
  await srv.close();
});

test('versions side by side: the SDK ignores server frames it does not know, the server names frames it does not know', async () => {
  const srv = await startServer();
  // A newer server may push a frame type this SDK has never seen: it is ignored, and delivery goes on.
  const { client, received } = sdkClient(srv.url, 'oldclient');
  await client.start();
  const sock = (client as unknown as { ws: { onmessage: (ev: { data: unknown }) => void } }).ws;
  sock.onmessage({ data: JSON.stringify({ type: 'hologram', pos: 999, payload: {} }) });
  sock.onmessage({ data: 'not even json' });
  const other = sdkClient(srv.url, 'newserverpeer');
  await other.client.start();
  await other.client.send({ to: 'oldclient' }, 'still fine');
  await until(() => received.length === 1, 5000, 'delivery continues');
  assert.equal(client.state, 'online');
  // A newer client may send a request this server does not know: it gets a clear error naming the type.
  await assert.rejects(client.request('teleport' as 'ping'), (e: Error & { code?: string }) => e.code === 'bad_request' && /unknown frame type "teleport"/.test(e.message));
  // A client may announce its protocol level at login; the server answers with its own.
  const raw = await (await import('./helpers.js')).Client.connect(srv.url);
  const r = await raw.request('login', { username: 'announcer', protocol: 1 });
  assert.equal(r.protocol, 1);
  raw.close();
  client.close();
  other.client.close();
  await srv.close();
});

test('pendingSends lists unacknowledged sends, restored from storage, until they are acknowledged', async () => {
  const storage = new MemoryStorage();
  const deadPort = await freePort();
  // No server on this port: the send stays in the outbox.
  const offline = sdkClient(`ws://127.0.0.1:${deadPort}/v1/ws`, 'pia', { storage });
  void offline.client.start();
  const sent = offline.client.send({ to: 'pia' }, 'written offline', 'pending-1');
  sent.catch(() => { /* closed below; the send stays in storage */ });
  assert.deepEqual(offline.client.pendingSends().map((p) => [p.clientId, p.text, p.target]), [['pending-1', 'written offline', { to: 'pia' }]]);
  offline.client.close();
  const srv = await startServer();
  const online = sdkClient(srv.url, 'pia', { storage });
  assert.equal(online.client.pendingSends()[0]?.clientId, 'pending-1', 'restored from storage before connecting');
  await online.client.start();
  await until(() => online.received.some((m) => m.clientId === 'pending-1'), 5000, 'pending send acknowledged');
  assert.deepEqual(online.client.pendingSends(), []);
  online.client.close();
  await srv.close();
});
