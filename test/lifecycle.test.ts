import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { RateLimiter } from '../src/service/rate-limit.js';
import { decodeSyncToken, encodeSyncToken } from '../src/protocol/token.js';
import { Client, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
before(async () => {
  srv = await startServer({ HEARTBEAT_MS: '200' });
});
after(async () => { await srv.close(); });

test('a connection that stops answering pings is closed within two heartbeats', async () => {
  const ws = new WebSocket(srv.url, { autoPong: false });
  await new Promise((r) => ws.once('open', r));
  const started = Date.now();
  await new Promise((r) => ws.once('close', r));
  const took = Date.now() - started;
  assert.ok(took < 3000, `closed after ${took} ms`);
  // A client that answers pings stays.
  const live = await Client.login(srv.url, { username: 'steady' });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(live.ws.readyState, WebSocket.OPEN);
  live.close();
});

test('a reader that never reads is closed with 1013 instead of buffering without bound', async () => {
  // Its own server: a long heartbeat, so that only the buffer limit can close the socket.
  const srv = await startServer({
    HEARTBEAT_MS: '60000', MAX_BUFFERED_BYTES: '65536', SEND_RATE: '100000', SEND_BURST: '100000',
    MAX_MESSAGE_CHARS: '60000', MAX_FRAME_BYTES: '262144',
  });
  const slow = await Client.login(srv.url, { username: 'sloth' });
  const fast = await Client.login(srv.url, { username: 'hare' });
  // Stop reading from the socket: the server's send buffer fills up.
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  // Loopback sockets absorb megabytes in kernel buffers before the server's own queue grows.
  const text = 'z'.repeat(50_000);
  let sent = 0;
  const stats = srv.app.gateway.stats;
  while (sent < 2000 && stats.slowConsumerCloses === 0) {
    await Promise.all(Array.from({ length: 20 }, () => fast.send('sloth', text)));
    sent += 20;
  }
  assert.equal(stats.slowConsumerCloses, 1, `the slow socket was dropped after ${sent} messages (${sent * 50} kB)`);
  assert.equal(fast.ws.readyState, WebSocket.OPEN, 'the sender is unaffected');
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const { code } = await slow.closed;
  assert.equal(code, 1013);
  // It recovers everything through sync.
  const back = await Client.login(srv.url, { token: slow.token });
  const all = await back.syncAll('p1.0');
  assert.equal(all.messages.length, sent);
  back.close();
  fast.close();
  await srv.close();
});

test('sync tokens round-trip and reject junk', () => {
  for (const pos of [0, 1, 35, 36, 123456789, Number.MAX_SAFE_INTEGER]) assert.equal(decodeSyncToken(encodeSyncToken(pos)), pos);
  for (const junk of ['', 'p1.', 'p1.-1', 'p2.10', 'p1.ZZ', 'p1.' + 'z'.repeat(20), '12']) assert.equal(decodeSyncToken(junk), undefined, junk);
});

test('rate limiter: burst, then the sustained rate, with the time to wait', () => {
  let now = 0;
  const rl = new RateLimiter(10, 3, () => now);
  assert.deepEqual([rl.take(1), rl.take(1), rl.take(1)], [0, 0, 0]);
  const wait = rl.take(1);
  assert.ok(wait > 0 && wait <= 100, `wait ${wait}`);
  assert.equal(rl.take(2), 0, 'buckets are per key');
  now += 100;
  assert.equal(rl.take(1), 0);
  assert.ok(rl.take(1) > 0);
});
