/**
 * Zero-downtime deploys: a node drains on SIGTERM with its clients' reconnects
 * spread over a window; `parley cluster` replaces every node in turn under
 * steady SDK traffic without losing or repeating a message; a rollout whose
 * new nodes never become ready stops and the old nodes keep serving.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Message } from '../../src/protocol/schemas.js';
import { Client, ROOT, sleep, spawnServer, tempDir } from '../helpers.js';
import { freePortBlock, sdkClient } from '../sdk-helpers.js';
import { OwnPostgres, OwnRedis } from '../services.js';

const hasHaproxy = spawnSync('haproxy', ['-v']).status === 0;
if (!hasHaproxy && process.env.CI === 'true') throw new Error('haproxy is required for the deploy tests under CI');
const tmp = tempDir();
after(() => tmp.cleanup());

test('a draining node closes its sockets with 1012 spread over the window, then exits 0', async () => {
  const server = await spawnServer({ DATABASE_URL: `sqlite:${tmp.dir}/drain.db`, DRAIN_WINDOW_MS: '3000', SQLITE_SYNCHRONOUS: 'normal' });
  const clients = await Promise.all(Array.from({ length: 150 }, (_, i) => Client.login(server.url, { username: `drain${i}` })));
  const t0 = Date.now();
  server.child.kill('SIGTERM');
  const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`).then((r) => r.status, () => 0);
  assert.equal(ready, 503, 'not ready as soon as the drain starts');
  const closes = await Promise.all(clients.map((c) => c.closed.then((x) => ({ ...x, at: Date.now() - t0 }))));
  assert.equal(await server.exited, 0);
  assert.ok(closes.every((c) => c.code === 1012), 'closed with 1012');
  const perHalfSecond = new Map<number, number>();
  for (const c of closes) perHalfSecond.set(Math.floor(c.at / 500), (perHalfSecond.get(Math.floor(c.at / 500)) ?? 0) + 1);
  const busiest = Math.max(...perHalfSecond.values());
  console.log(`reconnect requests per 0.5 s: ${[...perHalfSecond.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k / 2}s:${v}`).join(' ')}`);
  assert.ok(perHalfSecond.size >= 5, `spread over at least 5 half-seconds (${perHalfSecond.size})`);
  assert.ok(busiest <= 0.3 * clients.length, `no half-second with more than 30 % of the clients (busiest ${busiest})`);
  assert.ok(Math.max(...closes.map((c) => c.at)) < 3000 + 1500, 'all within the window');
});

interface Cluster { child: ChildProcess; url: string; http: string; pid: number; lines: string[] }

async function startCluster(port: number, databaseUrl: string, redisUrl: string, nextEnv: string): Promise<Cluster> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/parley.js'), 'cluster', '--nodes', '3', '--port', String(port), '--database-url', databaseUrl, '--redis-url', redisUrl, '--next-env', nextEnv], {
    env: { ...process.env, LOG_LEVEL: 'warn', SEND_RATE: '100000', SEND_BURST: '100000', DRAIN_WINDOW_MS: '2000', MAX_CONNECTIONS_PER_USER: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) if (l.startsWith('{"event"')) lines.push(l);
  });
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => { errors = (errors + d.toString()).slice(-3000); });
  const deadline = Date.now() + 60000;
  while (!lines.some((l) => l.includes('"cluster ready"'))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`cluster did not start (${child.exitCode}): ${errors}`);
    await sleep(50);
  }
  const ready = JSON.parse(lines.find((l) => l.includes('"cluster ready"'))!) as { url: string; http: string; pid: number };
  return { child, url: ready.url, http: ready.http, pid: ready.pid, lines };
}

async function waitEvent(c: Cluster, pattern: RegExp, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = c.lines.find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in ${c.lines.join('\n')}`);
    await sleep(100);
  }
}

describe('rolling restarts of a local cluster', { skip: !hasHaproxy }, () => {
  const pgs = new OwnPostgres();
  const redis = new OwnRedis();
  const nextEnv = join(tmp.dir, 'next-env.json');
  let cluster: Cluster;

  before(async () => {
    await pgs.init();
    pgs.start();
    await redis.start();
    writeFileSync(nextEnv, '{}');
    const db = new URL(pgs.url);
    db.pathname = '/parley';
    cluster = await startCluster(await freePortBlock(7), db.toString(), redis.url, nextEnv);
  });

  after(async () => {
    if (cluster?.child.exitCode === null) {
      const exited = new Promise((r) => cluster.child.once('exit', r));
      cluster.child.kill('SIGTERM');
      await exited;
    }
    await redis.kill();
    pgs.destroy();
  });

  test('every node replaced under 200 clients sending ~500 messages/s: nothing lost, nothing twice, no client error', async () => {
    const users = 150;
    const names = Array.from({ length: users }, (_, i) => `roll${String(i).padStart(3, '0')}`);
    // 150 users; the first 50 have a second device: 200 clients.
    const devices = [
      ...names.map((u) => ({ user: u, ...sdkClient(cluster.url, u, { backoff: { initialMs: 100, maxMs: 2000 }, heartbeatMs: 1000, heartbeatTimeoutMs: 1500 }) })),
      ...names.slice(0, 50).map((u) => ({ user: u, ...sdkClient(cluster.url, u, { backoff: { initialMs: 100, maxMs: 2000 }, heartbeatMs: 1000, heartbeatTimeoutMs: 1500 }) })),
    ];
    let failures = 0;
    for (const d of devices) d.client.on('sendFailed', () => failures++);
    await Promise.all(devices.map((d) => d.client.start()));
    const sentAt = new Map<string, number>();
    let longest = 0;
    for (const d of devices) {
      d.client.on('message', (m) => {
        const t = sentAt.get(m.id);
        if (t !== undefined) longest = Math.max(longest, Date.now() - t);
      });
    }
    const acked: Message[] = [];
    let sending = true;
    const pending: Promise<unknown>[] = [];
    const primaries = devices.slice(0, users);
    const traffic = (async () => {
      let k = 0;
      while (sending) {
        // ~500 messages/s: 25 sends every 50 ms, round robin over the users.
        for (let j = 0; j < 25; j++, k++) {
          const i = k % users;
          const started = Date.now();
          pending.push(primaries[i]!.client.send({ to: names[(i + 1) % users]! }, `${names[i]} #${k}`).then((m) => {
            sentAt.set(m.id, started);
            acked.push(m);
          }));
        }
        await sleep(50);
      }
    })();
    await sleep(2000);
    process.kill(cluster.pid, 'SIGHUP');
    await waitEvent(cluster, /"rollout done"/, 90000);
    assert.equal(cluster.lines.filter((l) => l.includes('"node replaced"')).length, 3, 'all three nodes replaced');
    await sleep(2000);
    sending = false;
    await traffic;
    await Promise.all(pending);
    assert.equal(failures, 0, 'no client surfaced an error');
    assert.ok(acked.length > 2000, `steady traffic through the rollout (${acked.length} messages)`);

    // Every device of the recipient, and the sender's other device, has each message exactly once.
    const deadline = Date.now() + 30000;
    for (const d of devices) {
      const i = names.indexOf(d.user);
      const from = names[(i + users - 1) % users]!;
      const expected = acked.filter((m) => m.sender === from || (m.sender === d.user && i < 50));
      const want = new Set(expected.map((m) => m.id));
      while ([...want].some((id) => !d.received.some((m) => m.id === id))) {
        assert.ok(Date.now() < deadline, `${d.user} has all ${want.size} messages`);
        await sleep(100);
      }
      const relevant = d.received.filter((m) => want.has(m.id));
      assert.equal(relevant.length, want.size, `${d.user}: each message once`);
    }
    console.log(`rolling restart: ${acked.length} messages, longest delivery delay ${longest} ms`);
    for (const d of devices) d.client.close();
  });

  test('a rollout whose new nodes never become ready stops, and the old nodes keep serving', async () => {
    writeFileSync(nextEnv, JSON.stringify({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unreachable' }));
    const a = await Client.login(cluster.url, { username: 'steadyA' });
    const b = await Client.login(cluster.url, { username: 'steadyB' });
    const before = cluster.lines.length;
    process.kill(cluster.pid, 'SIGHUP');
    let sent = 0;
    const deadline = Date.now() + 60000;
    while (!cluster.lines.slice(before).some((l) => l.includes('"rollout failed"'))) {
      assert.ok(Date.now() < deadline, 'the rollout reports its failure');
      await a.send('steadyB', `during ${sent++}`);
      assert.equal((await fetch(`${cluster.http}/readyz`)).status, 200, 'the cluster stays ready');
      await sleep(200);
    }
    assert.ok(!cluster.lines.slice(before).some((l) => l.includes('"node replaced"')), 'no old node was stopped');
    const after = await a.send('steadyB', 'after the failed rollout');
    await b.until(() => b.messages.some((m) => m.id === after.message.id));
    assert.equal(b.messages.length, sent + 1);
    a.close();
    b.close();
  });
});
