import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
before(async () => { srv = await startServer({ MAX_FRAME_BYTES: '4096' }); });
after(async () => { await srv.close(); });

async function call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(srv.http + path, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

test('health and readiness', async () => {
  assert.deepEqual((await call('GET', '/healthz')).body, { status: 'ok' });
  const ready = await call('GET', '/readyz');
  assert.equal(ready.status, 200);
});

test('log in, send, list conversations, sync and history over HTTP, with live push to WebSocket devices', async () => {
  const login = await call('POST', '/v1/login', { body: { username: 'hanna' } });
  assert.equal(login.status, 200);
  assert.equal(login.body.user.username, 'hanna');
  const token = login.body.token as string;
  const ivo = await Client.login(srv.url, { username: 'ivo' });
  const start = await call('GET', '/v1/sync', { token });
  assert.equal(start.status, 200);

  const sent = await call('POST', '/v1/messages', { token, body: { clientId: 'h1', to: 'ivo', text: 'over http' } });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.message.seq, 1);
  await ivo.until(() => ivo.messages.length === 1);
  assert.equal(ivo.messages[0]!.text, 'over http');
  const dup = await call('POST', '/v1/messages', { token, body: { clientId: 'h1', to: 'ivo', text: 'over http' } });
  assert.equal(dup.body.duplicate, true);
  await ivo.send('hanna', 'answer');

  const convs = await call('GET', '/v1/conversations', { token });
  assert.equal(convs.body.conversations.length, 1);
  assert.deepEqual(convs.body.conversations[0].members, ['hanna', 'ivo']);
  assert.equal(convs.body.conversations[0].lastMessage.text, 'answer');

  const sync = await call('GET', `/v1/sync?token=${encodeURIComponent(start.body.token)}&limit=10`, { token });
  assert.deepEqual(sync.body.messages.map((m: { text: string }) => m.text), ['over http', 'answer']);
  assert.equal(sync.body.hasMore, false);

  const convId = sent.body.message.conversationId as string;
  const hist = await call('GET', `/v1/conversations/${convId}/messages?limit=1`, { token });
  assert.deepEqual(hist.body.messages.map((m: { seq: number }) => m.seq), [2]);
  assert.equal(hist.body.hasMore, true);
  const older = await call('GET', `/v1/conversations/${convId}/messages?before=2`, { token });
  assert.deepEqual(older.body.messages.map((m: { seq: number }) => m.seq), [1]);
  ivo.close();
});

test('HTTP errors use the shared catalogue', async () => {
  const { body: { token } } = await call('POST', '/v1/login', { body: { username: 'jon' } });
  const other = await call('POST', '/v1/login', { body: { username: 'kim' } });
  const lee = await call('POST', '/v1/login', { body: { username: 'lee' } });
  const theirs = await call('POST', '/v1/messages', { token: other.body.token, body: { clientId: 'k', to: 'lee', text: 'secret' } });
  assert.equal(lee.status, 200);

  const cases: [string, Awaited<ReturnType<typeof call>>, number, string][] = [
    ['no token', await call('GET', '/v1/conversations'), 401, 'unauthorized'],
    ['bad token', await call('GET', '/v1/sync', { token: 'nope'.repeat(10) }), 401, 'unauthorized'],
    ['not a member', await call('GET', `/v1/conversations/${theirs.body.message.conversationId}/messages`, { token }), 404, 'not_found'],
    ['no such conversation', await call('GET', '/v1/conversations/424242/messages', { token }), 404, 'not_found'],
    ['invalid body', await call('POST', '/v1/messages', { token, body: { to: 'kim' } }), 400, 'bad_request'],
    ['not JSON', await call('POST', '/v1/login', { raw: '{nope' }), 400, 'bad_request'],
    ['bad username', await call('POST', '/v1/login', { body: { username: 'a b' } }), 400, 'bad_request'],
    ['unknown recipient', await call('POST', '/v1/messages', { token, body: { clientId: 'z', to: 'ghost', text: 'x' } }), 404, 'not_found'],
    ['bad sync token', await call('GET', '/v1/sync?token=zzz', { token }), 400, 'bad_request'],
    ['body too large', await call('POST', '/v1/messages', { token, body: { clientId: 'big', to: 'kim', text: 'x'.repeat(5000) } }), 413, 'too_large'],
    ['unknown route', await call('GET', '/v1/nothing'), 404, 'not_found'],
  ];
  for (const [what, res, status, code] of cases) {
    assert.equal(res.status, status, what);
    assert.equal(res.body.error.code, code, what);
    assert.equal(typeof res.body.error.message, 'string', what);
  }
  const hist = await call('GET', `/v1/conversations/${theirs.body.message.conversationId}/messages`, { token: lee.body.token });
  assert.equal(hist.body.messages.length, 1, 'nothing was written by the failed requests');
});

test('the OpenAPI document and the frame schemas are served', async () => {
  const doc = (await call('GET', '/openapi.json')).body;
  assert.equal(doc.openapi, '3.1.0');
  for (const path of [
    '/v1/login', '/v1/messages', '/v1/sync', '/v1/conversations', '/v1/conversations/{id}/messages', '/v1/groups',
    '/v1/conversations/{id}/members', '/v1/conversations/{id}/members/{user}', '/v1/conversations/{id}/leave', '/v1/conversations/{id}', '/v1/conversations/{id}/read', '/v1/presence',
    '/v1/register', '/v1/logout', '/v1/devices', '/v1/devices/{id}', '/v1/password', '/v1/info',
  ]) {
    assert.ok(doc.paths[path], `OpenAPI documents ${path}`);
  }
  const proto = (await call('GET', '/v1/protocol.json')).body;
  assert.deepEqual(Object.keys(proto.clientFrames).sort(), [
    'addMembers', 'changePassword', 'conversations', 'createGroup', 'delivered', 'devices', 'history', 'leave', 'login', 'logout', 'ping', 'presence', 'read',
    'register', 'removeMember', 'rename', 'revokeDevice', 'send', 'sync', 'typing',
  ]);
  assert.deepEqual(Object.keys(proto.serverFrames).sort(), ['conversation', 'error', 'message', 'presence', 'receipt', 'result', 'typing']);
  assert.ok(proto.errors.rate_limited);
});

test('Prometheus metrics count what happened', async () => {
  const before = await (await fetch(`${srv.http}/metrics`)).text();
  const count = (text: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const { body: { token } } = await call('POST', '/v1/login', { body: { username: 'metered' } });
  await call('POST', '/v1/login', { body: { username: 'meter2' } });
  await call('POST', '/v1/messages', { token, body: { clientId: 'mm1', to: 'meter2', text: 'count me' } });
  await call('POST', '/v1/messages', { token, body: { clientId: 'mm1', to: 'meter2', text: 'count me' } });
  const res = await fetch(`${srv.http}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const after = await res.text();
  assert.equal(count(after, 'parley_messages_stored_total') - count(before, 'parley_messages_stored_total'), 1);
  assert.equal(count(after, 'parley_duplicate_sends_total') - count(before, 'parley_duplicate_sends_total'), 1);
  assert.match(after, /^parley_bus_healthy\{[^}]*\} 1$/m);
  assert.match(after, /^parley_process_resident_memory_bytes/m, "default process metrics");
  assert.match(after, /^parley_delivery_seconds_count\{[^}]*\} [1-9]/m, 'delivery latency histogram');
  assert.match(after, /^parley_disconnects_total\{[^}]*reason="client"[^}]*\} \d+/m, 'disconnects by reason');
  for (const name of ['parley_connections', 'parley_sync_requests_total', 'parley_bus_errors_total', 'parley_store_errors_total', 'parley_draining', 'parley_drain_remaining']) {
    assert.match(after, new RegExp(`^${name}\\{`, 'm'), name);
  }
});
