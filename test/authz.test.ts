/**
 * Authorization everywhere: every WebSocket frame and every HTTP route, tried
 * with no token, an expired token, a revoked token, another user and a
 * non-member. Each gets the right error, and a conversation of others looks
 * exactly like one that does not exist.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClientFrames } from '../src/protocol/schemas.js';
import { Client, httpCall, queryDatabase, RequestError, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
let alice: Client; // admin of the group, member of the direct conversation with bob
let bob: Client; // member, not admin
let carol: Client; // logged in, member of nothing of theirs
let group = '';
let direct = '';
const MISSING = '987654321';
let expired = '';
let revoked = '';
let aliceDevice = '';

before(async () => {
  srv = await startServer();
  alice = await Client.login(srv.url, { username: 'alice' });
  bob = await Client.login(srv.url, { username: 'bob' });
  carol = await Client.login(srv.url, { username: 'carol' });
  direct = (await alice.send('bob', 'private')).message.conversationId;
  group = (await alice.request('createGroup', { title: 'team', members: ['bob'] })).conversation.id;
  // Two more devices of alice: one expired, one revoked.
  const e = await Client.login(srv.url, { username: 'alice' });
  expired = e.token;
  e.close();
  await queryDatabase(srv.databaseUrl, `UPDATE devices SET expires_at = 1 WHERE token_hash <> '' AND id = (SELECT MAX(id) FROM devices)`);
  const r = await Client.login(srv.url, { username: 'alice' });
  revoked = r.token;
  const rDevice = (await r.request('devices')).devices.find((d) => d.current)!.id;
  aliceDevice = (await alice.request('devices')).devices.find((d) => d.current)!.id;
  await alice.request('revokeDevice', { deviceId: rDevice });
  await r.closed;
});
after(async () => {
  for (const c of [alice, bob, carol]) c.close();
  await srv.close();
});

async function error(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof RequestError, `expected an error, got ${JSON.stringify(e)}`);
  return { code: e.code, message: e.message };
}

/** A valid frame of each type, aimed at `conv`; frames that name no conversation aim at alice's things. */
function frames(conv: string): Record<string, Record<string, unknown>> {
  return {
    send: { clientId: `authz-${Math.random()}`, conversationId: conv, text: 'let me in' },
    sync: {},
    history: { conversationId: conv },
    conversations: {},
    createGroup: { title: 'mine', members: [] },
    addMembers: { conversationId: conv, users: ['carol'] },
    removeMember: { conversationId: conv, user: 'bob' },
    leave: { conversationId: conv },
    rename: { conversationId: conv, title: 'taken over' },
    read: { conversationId: conv, seq: 1 },
    delivered: { conversationId: conv, seq: 1 },
    typing: { conversationId: conv },
    presence: { users: ['alice'] },
    devices: {},
    revokeDevice: { deviceId: aliceDevice },
    changePassword: { newPassword: 'hijacked password' },
    logout: {},
  };
}

test('every frame type is covered by this matrix', () => {
  const covered = new Set([...Object.keys(frames('1')), 'login', 'register', 'ping']);
  assert.deepEqual(Object.keys(ClientFrames).filter((t) => !covered.has(t)), [], 'a new frame type needs a row here');
});

test('WebSocket: no token, an expired token, a revoked token: every frame is unauthorized and changes nothing', async () => {
  for (const [who, token] of [['no token', undefined], ['expired', expired], ['revoked', revoked]] as const) {
    const c = await Client.connect(srv.url);
    if (token) assert.equal((await error(c.request('login', { token }))).code, 'unauthorized', `${who}: login`);
    for (const [type, params] of Object.entries(frames(direct))) {
      const e = await error(c.request(type as 'send', params));
      assert.equal(e.code, 'unauthorized', `${who}: ${type}`);
    }
    c.close();
  }
  const history = await alice.request('history', { conversationId: direct });
  assert.deepEqual(history.messages.map((m) => m.text), ['private'], 'nothing was sent');
});

test("WebSocket: a non-member gets for others' conversations exactly what a missing conversation gives", async () => {
  for (const conv of [direct, group]) {
    for (const [type, params] of Object.entries(frames(conv))) {
      if (!('conversationId' in params)) continue;
      const theirs = await error(carol.request(type as 'send', params));
      const missing = await error(carol.request(type as 'send', frames(MISSING)[type]!));
      assert.equal(theirs.code, 'not_found', `${type} on a conversation of others`);
      assert.deepEqual(theirs, missing, `${type}: the error reveals nothing`);
    }
  }
  // Another user's device looks like no device; presence of strangers is left out.
  assert.deepEqual(await error(carol.request('revokeDevice', { deviceId: aliceDevice })), await error(carol.request('revokeDevice', { deviceId: MISSING })));
  assert.deepEqual((await carol.request('presence', { users: ['alice', 'bob'] })).users, []);
  const sync = await carol.request('sync', {});
  assert.ok(!sync.conversations.some((c) => c.id === direct || c.id === group), "carol's sync shows nothing of theirs");
  // A member who is not an admin: forbidden, for the admin actions only.
  for (const type of ['addMembers', 'removeMember', 'rename'] as const) {
    const params = { ...frames(group)[type]!, ...(type === 'removeMember' ? { user: 'alice' } : {}) };
    assert.equal((await error(bob.request(type, params))).code, 'forbidden', `bob: ${type}`);
  }
  const g = await alice.request('history', { conversationId: group });
  assert.ok(g.messages.every((m) => m.text !== 'let me in'), 'nothing was written');
  assert.equal((await alice.request('conversations', {})).conversations.find((c) => c.id === group)?.title, 'team');
});

test('HTTP: every route that needs a session refuses no token, an expired, a revoked and a malformed one with 401', async () => {
  const doc = (await httpCall(srv.http, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown }>> };
  let routes = 0;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op.security) continue;
      routes++;
      const url = path.replace('{id}', direct).replace('{user}', 'bob');
      for (const [who, token] of [['no token', undefined], ['expired', expired], ['revoked', revoked], ['malformed', 'not-a-token']] as const) {
        // A body that would pass validation is not needed: authentication comes first.
        const r = await httpCall(srv.http, method.toUpperCase(), url, { token, body: method === 'get' || method === 'delete' ? undefined : {} });
        assert.equal(r.status, 401, `${method.toUpperCase()} ${path} with ${who}`);
        assert.equal(r.body.error.code, 'unauthorized');
      }
    }
  }
  assert.ok(routes >= 15, `${routes} routes checked`);
});

test("HTTP: a non-member gets for others' conversations exactly what a missing conversation gives", async () => {
  const doc = (await httpCall(srv.http, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown }>> };
  const bodies: Record<string, unknown> = {
    '/v1/conversations/{id}/members': { users: ['carol'] },
    '/v1/conversations/{id}': { title: 'taken over' },
    '/v1/conversations/{id}/read': { seq: 1 },
  };
  let checked = 0;
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.includes('/conversations/{id}')) continue;
    for (const method of Object.keys(methods)) {
      const body = method === 'get' || method === 'delete' ? undefined : bodies[path] ?? {};
      for (const conv of [direct, group]) {
        const theirs = await httpCall(srv.http, method.toUpperCase(), path.replace('{id}', conv).replace('{user}', 'bob'), { token: carol.token, body });
        const missing = await httpCall(srv.http, method.toUpperCase(), path.replace('{id}', MISSING).replace('{user}', 'bob'), { token: carol.token, body });
        assert.equal(theirs.status, 404, `${method.toUpperCase()} ${path}`);
        assert.deepEqual(theirs.body, missing.body, `${method.toUpperCase()} ${path}: reveals nothing`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 10, `${checked} requests checked`);
  const send = await httpCall(srv.http, 'POST', '/v1/messages', { token: carol.token, body: { clientId: 'x1', conversationId: direct, text: 'hi' } });
  const sendMissing = await httpCall(srv.http, 'POST', '/v1/messages', { token: carol.token, body: { clientId: 'x2', conversationId: MISSING, text: 'hi' } });
  assert.equal(send.status, 404);
  assert.deepEqual(send.body, sendMissing.body);
  assert.equal((await httpCall(srv.http, 'DELETE', `/v1/devices/${aliceDevice}`, { token: carol.token })).status, 404);
  assert.equal((await httpCall(srv.http, 'GET', '/v1/devices', { token: alice.token })).body.devices.length, 1, "alice's device survives");
});
