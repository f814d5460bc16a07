/**
 * Accounts: passwords (argon2id), register, log in, devices, revocation,
 * token expiry, brute-force limits, origins, per-address connection limits.
 * Real servers, real sockets, the configured database.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Client, httpCall, queryDatabase, RequestError, sleep, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
async function server(env: Record<string, string> = {}) {
  const s = await startServer(env);
  servers.push(s);
  return s;
}
async function refused(p: Promise<unknown>, code: string): Promise<RequestError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof RequestError, `expected a ${code} error, got ${String(err)}`);
  assert.equal(err.code, code);
  return err;
}
/** Opens a WebSocket with these headers; resolves with the HTTP status of a refused upgrade, or 101. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ws?: WebSocket; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
  });
}

describe('password mode', () => {
  test('register, log in with the password, nothing else gets in; only hashes are stored', async () => {
    const s = await server({ AUTH_MODE: 'password' });
    const info = await httpCall(s.http, 'GET', '/v1/info');
    assert.equal(info.body.authMode, 'password');

    const c = await Client.connect(s.url);
    const reg = await c.request('register', { username: 'Alice', password: 'correct horse battery', deviceName: 'laptop' });
    assert.equal(reg.user.username, 'Alice');
    assert.equal(reg.authMode, 'password');
    assert.ok(reg.expiresAt > Date.now());
    c.close();

    // Taken in any case; a short password is refused by the schema; neither creates anything.
    await refused((await Client.connect(s.url)).request('register', { username: 'alice', password: 'another password' }), 'conflict');
    await refused((await Client.connect(s.url)).request('register', { username: 'bob', password: 'short' }), 'bad_request');
    assert.equal((await httpCall(s.http, 'POST', '/v1/register', { body: { username: 'ALICE', password: 'whatever12' } })).status, 409);

    // The username alone, a wrong password, an unknown user: all unauthorized, and the two last alike.
    await refused(Client.login(s.url, { username: 'alice' }), 'unauthorized');
    const wrong = await refused(Client.login(s.url, { username: 'alice', password: 'wrong password' }), 'unauthorized');
    const nobody = await refused(Client.login(s.url, { username: 'nobody', password: 'wrong password' }), 'unauthorized');
    assert.equal(wrong.message, nobody.message, 'an unknown user and a wrong password look the same');
    assert.equal((await httpCall(s.http, 'POST', '/v1/login', { body: { username: 'bob' } })).status, 401, 'no open-mode users in password mode');

    const ok = await Client.login(s.url, { username: 'alice', password: 'correct horse battery' });
    const bob = await httpCall(s.http, 'POST', '/v1/register', { body: { username: 'bob', password: 'bobs password' } });
    assert.equal(bob.status, 200);
    const sent = await ok.send('bob', 'hello bob');
    assert.equal(sent.message.text, 'hello bob');

    const users = await queryDatabase(s.databaseUrl, "SELECT username, password_hash FROM users ORDER BY id");
    assert.deepEqual(users.map((u) => u.username), ['Alice', 'bob'], 'the refused attempts created no one');
    for (const u of users) assert.match(String(u.password_hash), /^\$argon2id\$/);
    const devices = await queryDatabase(s.databaseUrl, 'SELECT token_hash FROM devices');
    const stored = devices.map((d) => String(d.token_hash));
    for (const token of [reg.token, ok.token, bob.body.token]) {
      assert.ok(!stored.includes(token), 'the token itself is never stored');
    }
    ok.close();
  });

  test('failed log-ins are limited per username and per address; the right password waits too', async () => {
    const s = await server({ AUTH_MODE: 'password', TRUST_PROXY: 'true', LOGIN_FAILURE_BURST: '3', LOGIN_FAILURES_PER_MIN: '1' });
    await httpCall(s.http, 'POST', '/v1/register', { body: { username: 'carol', password: 'carols password' } });
    await httpCall(s.http, 'POST', '/v1/register', { body: { username: 'dave', password: 'daves password' } });
    const login = (username: string, password: string, from: string) =>
      httpCall(s.http, 'POST', '/v1/login', { body: { username, password }, headers: { 'x-forwarded-for': from } });

    // Per username: three wrong guesses from three addresses, then even the right password waits.
    for (const from of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) assert.equal((await login('carol', 'guess', from)).status, 401);
    const limited = await login('carol', 'carols password', '10.0.0.4');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(limited.body.error.retryAfterMs > 0);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);

    // Per address: one address guessing at several names is stopped, other addresses are not.
    for (const name of ['xavier1', 'xavier2', 'xavier3']) assert.equal((await login(name, 'guess', '10.0.0.9')).status, 401);
    assert.equal((await login('dave', 'daves password', '10.0.0.9')).status, 429);
    assert.equal((await login('dave', 'daves password', '10.0.0.10')).status, 200);
  });

  test('registrations per address are limited; a limited registration stores nothing', async () => {
    const s = await server({ TRUST_PROXY: 'true', REGISTRATIONS_PER_MIN: '2' });
    const reg = (username: string) =>
      httpCall(s.http, 'POST', '/v1/register', { body: { username, password: 'password123' }, headers: { 'x-forwarded-for': '192.0.2.7' } });
    assert.equal((await reg('reg1')).status, 200);
    assert.equal((await reg('reg2')).status, 200);
    const third = await reg('reg3');
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'rate_limited');
    const rows = await queryDatabase(s.databaseUrl, "SELECT username FROM users WHERE username = 'reg3'");
    assert.equal(rows.length, 0);
  });
});

describe('devices and tokens', () => {
  test('list devices, revoke one: its live connection closes with 4001 and its token stops working', async () => {
    const s = await server();
    const phone = await Client.connect(s.url);
    const p = await phone.request('login', { username: 'erin', deviceName: 'phone' });
    const laptop = await Client.connect(s.url);
    const l = await laptop.request('login', { username: 'erin', deviceName: 'laptop' });
    const frank = await Client.login(s.url, { username: 'frank' });

    const list = await laptop.request('devices');
    assert.deepEqual(list.devices.map((d) => [d.name, d.current]).sort(), [['laptop', true], ['phone', false]]);
    // frank cannot see or revoke erin's devices: a device of someone else looks like no device.
    assert.equal((await frank.request('devices')).devices.length, 1);
    await refused(frank.request('revokeDevice', { deviceId: p.deviceId }), 'not_found');
    await refused(frank.request('revokeDevice', { deviceId: '999999' }), 'not_found');

    assert.deepEqual(await laptop.request('revokeDevice', { deviceId: p.deviceId }), { revoked: 1 });
    const closed = await phone.closed;
    assert.equal(closed.code, 4001);
    await refused(Client.login(s.url, { token: p.token }), 'unauthorized');
    assert.equal((await httpCall(s.http, 'GET', '/v1/sync', { token: p.token })).status, 401);
    assert.equal((await httpCall(s.http, 'GET', '/v1/sync', { token: l.token })).status, 200, 'the other device is untouched');
    assert.deepEqual((await laptop.request('devices')).devices.map((d) => d.name), ['laptop']);
    await refused(laptop.request('revokeDevice', { deviceId: p.deviceId }), 'not_found');

    // Log out: the reply arrives, then the connection closes, and the token is dead.
    assert.deepEqual(await laptop.request('logout'), { revoked: 1 });
    assert.equal((await laptop.closed).code, 4001);
    assert.equal((await httpCall(s.http, 'GET', '/v1/devices', { token: l.token })).status, 401);
    frank.close();
  });

  test('in open mode a user may set a password; then the name alone no longer logs in, and other devices are logged out', async () => {
    const s = await server();
    const a = await Client.login(s.url, { username: 'gail' });
    const b = await Client.login(s.url, { username: 'gail' });
    assert.deepEqual(await a.request('changePassword', { newPassword: 'gails new password' }), { revoked: 1 });
    assert.equal((await b.closed).code, 4001, "gail's other device is logged out");
    await refused(Client.login(s.url, { username: 'gail' }), 'unauthorized');
    const again = await Client.login(s.url, { username: 'gail', password: 'gails new password' });
    // Changing it again needs the current one.
    await refused(again.request('changePassword', { newPassword: 'third password' }), 'forbidden');
    await refused(again.request('changePassword', { oldPassword: 'not it', newPassword: 'third password' }), 'forbidden');
    const changed = await httpCall(s.http, 'PUT', '/v1/password', { token: again.token, body: { oldPassword: 'gails new password', newPassword: 'third password' } });
    assert.equal(changed.status, 200);
    assert.equal((await a.closed).code, 4001, 'the first device too');
    await Client.login(s.url, { username: 'gail', password: 'third password' });
  });

  test('tokens expire; using one moves its expiry forward', async () => {
    const s = await server({ TOKEN_TTL_MS: '1500' });
    const c = await Client.connect(s.url);
    const first = await c.request('login', { username: 'hank' });
    c.close();
    await sleep(900);
    const resumed = await Client.connect(s.url);
    const r = await resumed.request('login', { token: first.token });
    assert.ok(r.expiresAt > first.expiresAt, 'resuming slides the expiry');
    resumed.close();
    await sleep(900);
    // 1.8 s after the first log in, but only 0.9 s after the resume: still valid.
    assert.equal((await httpCall(s.http, 'GET', '/v1/devices', { token: first.token })).status, 200);
    await sleep(800);
    await refused(Client.login(s.url, { token: first.token }), 'unauthorized');
    const http = await httpCall(s.http, 'GET', '/v1/conversations', { token: first.token });
    assert.equal(http.status, 401);
    assert.equal(http.body.error.code, 'unauthorized');
  });
});

describe('connections from browsers and addresses', () => {
  test('WebSocket upgrades and CORS follow the origin allow-list', async () => {
    const s = await server({ ALLOWED_ORIGINS: 'https://chat.example.com' });
    const evil = await upgradeStatus(s.url, { origin: 'https://evil.example.net' });
    assert.equal(evil.status, 403);
    assert.equal(JSON.parse(evil.body!).error.code, 'forbidden');
    for (const origin of ['https://chat.example.com', `http://127.0.0.1:${s.port}`, undefined]) {
      const r = await upgradeStatus(s.url, origin ? { origin } : {});
      assert.equal(r.status, 101, `origin ${origin ?? '(none)'} is allowed`);
      r.ws!.close();
    }
    const preflight = (origin: string) => httpCall(s.http, 'OPTIONS', '/v1/login', {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal((await preflight('https://chat.example.com')).headers.get('access-control-allow-origin'), 'https://chat.example.com');
    assert.equal((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin'), null);
  });

  test('connections per address are limited; closing one makes room', async () => {
    const s = await server({ MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await Client.login(s.url, { username: `ivy${i}` }));
    const fourth = await upgradeStatus(s.url);
    assert.equal(fourth.status, 429);
    assert.equal(JSON.parse(fourth.body!).error.code, 'rate_limited');
    open[0]!.close();
    await open[0]!.closed;
    await sleep(50);
    const again = await upgradeStatus(s.url);
    assert.equal(again.status, 101);
    again.ws!.close();
    for (const c of open.slice(1)) c.close();
  });
});
