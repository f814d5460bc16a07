/**
 * Broken and hostile clients: property-based fuzzing of frames and HTTP
 * bodies (fast-check), a reader that never reads while others flood it, and
 * logs that must not carry secrets. Through it all, the server stays up and
 * other users keep chatting.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { Client, httpCall, sleep, spawnServer, startServer, type TestServer } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

let srv: TestServer;
before(async () => {
  srv = await startServer({ SEND_RATE: '100000', SEND_BURST: '100000' });
});
after(() => srv.close());

/** A raw socket that counts replies: every frame must get exactly one (result or error). */
class Prober {
  private replies: { type: string; id: unknown; error?: { code: string } }[] = [];
  private wake: (() => void) | undefined;
  closed: { code: number } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; id: unknown; error?: { code: string } };
      if (f.type === 'result' || f.type === 'error') this.replies.push(f);
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closed = { code };
      this.wake?.();
    });
    ws.on('error', () => {});
  }
  static async open(url: string, login?: string): Promise<Prober> {
    const ws = new WebSocket(url);
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const p = new Prober(ws);
    if (login) {
      ws.send(JSON.stringify({ type: 'login', id: 'login', username: login }));
      const r = await p.next();
      assert.equal(r.type, 'result');
    }
    return p;
  }
  async next(timeoutMs = 3000): Promise<{ type: string; id: unknown; error?: { code: string } }> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) throw new Error(`socket closed with ${this.closed.code}`);
      if (Date.now() > deadline) throw new Error('no reply');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    return this.replies.shift()!;
  }
}

// ---------------------------------------------------------------- generators

const POISON_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'type', 'id'];
const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, 1.5, '', '\u0000', '\uD800', '𝄞'.repeat(100)),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...POISON_KEYS), fc.string({ maxLength: 12 })), tie('v'), { maxKeys: 4 }),
  ),
})).v;

const VALID: Record<string, Record<string, unknown>> = {
  send: { clientId: 'fz', to: 'bob', text: 'fuzz' },
  sync: { limit: 10 },
  history: { conversationId: '1', limit: 5 },
  conversations: {},
  createGroup: { title: 'g', members: ['bob'] },
  addMembers: { conversationId: '1', users: ['bob'] },
  removeMember: { conversationId: '1', user: 'bob' },
  rename: { conversationId: '1', title: 't' },
  read: { conversationId: '1', seq: 1 },
  delivered: { conversationId: '1', seq: 1 },
  typing: { conversationId: '1' },
  presence: { users: ['bob'] },
  devices: {},
  ping: {},
};

/** A valid frame with one field replaced, removed or added, or its type swapped. */
const mutatedFrame = fc.tuple(fc.constantFrom(...Object.keys(VALID)), fc.nat(), hostileValue, fc.constantFrom('replace', 'remove', 'add', 'retype', 'poison'))
  .map(([type, n, value, how]) => {
    const frame: Record<string, unknown> = { type, id: 'f', ...VALID[type] };
    const keys = Object.keys(frame);
    const k = keys[n % keys.length]!;
    if (how === 'replace') frame[k] = value;
    else if (how === 'remove') delete frame[k];
    else if (how === 'add') frame[`x${n % 7}`] = value;
    else if (how === 'retype') frame.type = Object.keys(VALID)[n % Object.keys(VALID).length];
    else return `{"type":"${type}","id":"f","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}`;
    return JSON.stringify(frame);
  });

const rawFrame = fc.oneof(
  mutatedFrame,
  hostileValue.map((v) => JSON.stringify(v) ?? 'undefined'),
  fc.string({ maxLength: 200 }),
  fc.nat({ max: 5000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.nat({ max: 3000 }).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
  fc.constant('{"type":"send","id":"n","clientId":"c","to":"bob","text":"x","extra":' + '9'.repeat(400) + '}'),
);

// ---------------------------------------------------------------- tests

test('thousands of random and mutated frames: each gets exactly one reply, the server stays up, memory stays flat, others keep chatting', async () => {
  const alice = await Client.login(srv.url, { username: 'alice' });
  const bob = await Client.login(srv.url, { username: 'bob' });
  const fuzzer = await Prober.open(srv.url, 'mallory');
  const anon = await Prober.open(srv.url);
  let sent = 0;
  const warm = heapMiB();
  const runs = 1500;
  await fc.assert(fc.asyncProperty(rawFrame, fc.boolean(), async (data, loggedIn) => {
    const p = loggedIn ? fuzzer : anon;
    p.ws.send(data);
    const reply = await p.next();
    assert.ok(reply.type === 'result' || reply.type === 'error');
    if (reply.type === 'error') assert.match(reply.error!.code, /^(bad_request|unauthorized|not_found|forbidden|conflict|too_large|rate_limited)$/);
    // Meanwhile, the real chat goes on.
    if (++sent % 50 === 0) await alice.send('bob', `still here ${sent}`);
  }), { numRuns: runs, seed: 20261126 });
  await bob.until(() => bob.messages.filter((m) => m.text.startsWith('still here')).length === runs / 50, 5000, "bob gets all of alice's messages");
  assert.equal(fuzzer.closed, undefined, 'the fuzzing connection is still open');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  const grown = heapMiB() - warm;
  assert.ok(grown < 30, `heap grew ${grown.toFixed(1)} MiB over ${runs} frames`);
  const ping = await alice.request('ping');
  assert.ok(ping.time > 0);
  for (const c of [alice, bob]) c.close();
  fuzzer.ws.close();
  anon.ws.close();
});

test('invalid UTF-8 in a text frame closes only that socket (1007); others are unaffected', async () => {
  const alice = await Client.login(srv.url, { username: 'alice2' });
  const bad = await Prober.open(srv.url, 'mallory2');
  // ws sends a Buffer as a text frame with binary: false, unchecked.
  bad.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0xa0, 0xa1, 0x7d]), { binary: false });
  for (let i = 0; i < 50 && !bad.closed; i++) await sleep(20);
  assert.equal(bad.closed?.code, 1007);
  assert.equal((await alice.send('alice2', 'note to self')).message.text, 'note to self');
  alice.close();
});

test('random HTTP bodies and query strings: always a 4xx with an error code, never a 5xx', async () => {
  const alice = await Client.login(srv.url, { username: 'alice3' });
  const routes: [string, string][] = [
    ['POST', '/v1/login'], ['POST', '/v1/register'], ['POST', '/v1/messages'], ['POST', '/v1/groups'], ['PUT', '/v1/password'],
    ['POST', '/v1/conversations/1/members'], ['POST', '/v1/conversations/1/read'], ['GET', '/v1/sync'], ['GET', '/v1/conversations'],
  ];
  const body = fc.oneof(
    hostileValue.map((v) => JSON.stringify(v) ?? ''),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.nat({ max: 4000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
    fc.constant('{"__proto__":{"polluted":1},"username":"zed"}'),
  );
  await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), body, fc.string({ maxLength: 40 }), async ([method, path], payload, query) => {
    const url = `${srv.http}${path}${method === 'GET' ? `?token=${encodeURIComponent(query)}&limit=${encodeURIComponent(query)}` : ''}`;
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: method === 'GET' ? undefined : payload,
    });
    const text = await res.text();
    assert.ok(res.status < 500, `${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    if (res.status >= 400) assert.equal(typeof (JSON.parse(text) as { error: { code: string } }).error.code, 'string');
  }), { numRuns: 600, seed: 20261126 });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((await httpCall(srv.http, 'GET', '/healthz')).status, 200);
  alice.close();
});

test('a client that never reads cannot grow server memory: it is cut off at the limit and catches up through sync', async () => {
  const limit = 256 * 1024;
  const flood = await startServer({ SEND_RATE: '100000', SEND_BURST: '100000', MAX_BUFFERED_BYTES: String(limit) });
  try {
    const slow = await Client.login(flood.url, { username: 'sloth' });
    const { token } = await slow.request('sync', {});
    const sender = await Client.login(flood.url, { username: 'flooder' });
    // Stop reading: the kernel buffers fill, then the server's queue for this socket would grow.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = process.memoryUsage();
    const text = 'x'.repeat(3900);
    const total = 8000; // about 32 MB of pushes: far past the limit and the kernel's buffers
    let peakExternal = 0;
    for (let i = 0; i < total; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => sender.send('sloth', text, `f${i + j}`)));
      const m = process.memoryUsage();
      peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers - before.external - before.arrayBuffers);
    }
    const stats = flood.app.gateway.stats;
    assert.ok(stats.slowConsumerCloses >= 1, 'the slow reader was cut off');
    assert.ok(peakExternal < 24 * 2 ** 20, `buffers grew ${(peakExternal / 2 ** 20).toFixed(1)} MiB while ${(total * 4000 / 2 ** 20).toFixed(0)} MiB was sent to a reader that never read`);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await Promise.race([slow.closed, sleep(5000).then(() => ({ code: -1 }))]);
    assert.ok(closed.code === 1013 || closed.code === 1006, `closed as too slow (${closed.code})`);
    // It recovers everything through sync.
    const again = await Client.login(flood.url, { token: slow.token });
    const all = await again.syncAll(token, 1000);
    assert.equal(all.messages.filter((m) => m.sender === 'flooder').length, total);
    // And the server kept serving the sender.
    assert.equal((await sender.send('sloth', 'after the flood')).message.text, 'after the flood');
    for (const c of [sender, again]) c.close();
  } finally {
    await flood.close();
  }
});

test('logs carry no token, password or message text', async () => {
  const secret = { password: 'pw-Zx81-unguessable', text: 'txt-Q7-private-words' };
  const s = await spawnServer({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'trace', AUTH_MODE: 'password' });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    const reg = await httpCall(base, 'POST', '/v1/register', { body: { username: 'logan', password: secret.password } });
    await httpCall(base, 'POST', '/v1/register', { body: { username: 'lana', password: secret.password } });
    const c = await Client.login(s.url, { token: reg.body.token });
    await c.send('lana', secret.text);
    // Failures too: a wrong password, a bad frame carrying the secrets, a bad token over HTTP.
    await httpCall(base, 'POST', '/v1/login', { body: { username: 'logan', password: `${secret.password}-wrong` } });
    c.sendRaw(JSON.stringify({ type: 'send', id: 'x', to: 'lana', text: secret.text, password: secret.password }));
    c.sendRaw(`{"type":"login","id":"y","token":"${reg.body.token}"`);
    await httpCall(base, 'GET', '/v1/sync', { token: `${reg.body.token}x` });
    await c.request('ping');
    c.close();
    await sleep(200);
    const logs = s.output();
    assert.ok(logs.length > 200 && logs.includes('"level"'), 'the server did log');
    for (const [what, value] of [['password', secret.password], ['message text', secret.text], ['token', reg.body.token as string]] as const) {
      assert.ok(!logs.includes(value), `the logs contain the ${what}`);
    }
  } finally {
    s.child.kill('SIGKILL');
    await s.exited;
  }
});
