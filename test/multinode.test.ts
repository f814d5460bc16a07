/**
 * Three real nodes sharing one database, connected by a bus: over the
 * in-process bus and over the real Redis. Users, and one user's three
 * devices, are spread over the nodes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryBus, MemoryBusHub } from '../src/adapters/bus-memory.js';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Bus } from '../src/ports/bus.js';
import { Client, freshDatabase, key, sleep, tempDir } from './helpers.js';
import type { RedisBus } from '../src/adapters/bus-redis.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await (async () => {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
})();
if (!redisUp) {
  if (process.env.CI === 'true') throw new Error(`Redis is required for the multi-node tests under CI (${REDIS_URL})`);
  console.warn(`\n*** SKIPPING the Redis multi-node tests: no Redis at ${REDIS_URL} ***\n`);
}

const tmp = tempDir();
after(() => tmp.cleanup());

async function startNodes(kind: 'memory' | 'redis', n = 3) {
  const db = await freshDatabase(tmp.dir, `cluster-${kind}`);
  const hub = new MemoryBusHub();
  const apps: App[] = [];
  for (let i = 0; i < n; i++) {
    const env = {
      HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', DATABASE_URL: db.url, SQLITE_SYNCHRONOUS: 'normal',
      NODE_ID: `test-${kind}-${process.pid}-${i}`, SEND_RATE: '100000', SEND_BURST: '100000',
      ...(kind === 'redis' ? { REDIS_URL } : {}),
    };
    const deps: { bus?: Bus } = kind === 'memory' ? { bus: new MemoryBus(hub) } : {};
    const app = buildApp(loadConfig(env), deps);
    await app.listen();
    apps.push(app);
  }
  const urls = apps.map((a) => `ws://127.0.0.1:${(a.http.server.address() as { port: number }).port}/v1/ws`);
  return {
    apps, urls,
    async close() {
      for (const a of apps) await a.close();
      await db.drop();
    },
  };
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`three nodes over the ${kind} bus`, { skip: kind === 'redis' && !redisUp }, () => {
    test('users and one user\'s three devices on different nodes: everyone receives everything once', async () => {
      const c = await startNodes(kind);
      try {
        const [u0, u1, u2] = c.urls as [string, string, string];
        const alice = await Client.login(u0, { username: 'alice' });
        const bobs = [await Client.login(u0, { username: 'bob' }), await Client.login(u1, { username: 'bob' }), await Client.login(u2, { username: 'bob' })];
        const carol = await Client.login(u2, { username: 'carol' });
        await sleep(100); // subscriptions settle
        const sent = [];
        for (let i = 0; i < 30; i++) sent.push((await (i % 2 ? carol : alice).send('bob', `m${i}`)).message);
        for (const b of bobs) await b.until(() => b.messages.length === 30, 5000, 'each bob device gets all 30');
        for (const b of bobs) {
          assert.equal(new Set(b.messages.map(key)).size, 30, 'once each');
          assert.deepEqual(new Set(b.messages.map((m) => m.id)), new Set(sent.map((m) => m.id)));
        }
        // bob answers from node 1; alice (node 0) and bob's other devices get it.
        const reply = await bobs[1]!.send('alice', 'hi from node 1');
        await alice.until(() => alice.messages.some((m) => m.id === reply.message.id));
        await bobs[0]!.until(() => bobs[0]!.messages.some((m) => m.id === reply.message.id));
        await bobs[2]!.until(() => bobs[2]!.messages.some((m) => m.id === reply.message.id));
        await sleep(50);
        assert.equal(bobs[1]!.messages.filter((m) => m.id === reply.message.id).length, 0, 'not echoed to the sending device');

        // Sync and history work from any node.
        const fromNode2 = await Client.login(u2, { token: alice.token });
        const hist = await fromNode2.request('history', { conversationId: reply.message.conversationId, limit: 100 });
        assert.equal(hist.messages[hist.messages.length - 1]!.id, reply.message.id);
        const sync = await fromNode2.syncAll('p1.0');
        assert.equal(sync.messages.length, 16, "alice's 15 sends and bob's reply");

        if (kind === 'redis') {
          // Routed by user: node 1 hosts only a bob device, so it receives bob's events and nothing of alice's or carol's.
          const statsOf = (a: App) => (a.bus as RedisBus).stats;
          assert.ok(statsOf(c.apps[1]!).received >= 30, 'node 1 received bob\'s events from the other nodes');
          const before = statsOf(c.apps[1]!).received;
          const dave = await Client.login(u0, { username: 'dave' });
          const erin = await Client.login(u2, { username: 'erin' });
          for (let i = 0; i < 20; i++) await dave.send('erin', `x${i}`);
          await erin.until(() => erin.messages.length === 20);
          await sleep(100);
          assert.equal(statsOf(c.apps[1]!).received, before, 'node 1 got none of dave and erin\'s traffic');
          dave.close();
          erin.close();
        }
        for (const x of [alice, ...bobs, carol, fromNode2]) x.close();
      } finally {
        await c.close();
      }
    });

    test('revoking a device on one node closes its connection on another at once', async () => {
      const c = await startNodes(kind, 2);
      try {
        const [u0, u1] = c.urls as [string, string];
        const phone = await Client.login(u1, { username: 'rita' });
        const laptop = await Client.login(u0, { username: 'rita' });
        await sleep(100); // subscriptions settle
        const phoneId = (await laptop.request('devices')).devices.find((d) => !d.current)!.id;
        const t0 = Date.now();
        await laptop.request('revokeDevice', { deviceId: phoneId });
        const closed = await Promise.race([phone.closed, sleep(3000).then(() => ({ code: -1, reason: 'still open after 3 s' }))]);
        assert.equal(closed.code, 4001, `closed by the other node (${closed.reason})`);
        assert.ok(Date.now() - t0 < 3000);
        laptop.close();
      } finally {
        await c.close();
      }
    });

    test('a group member removed on one node stops receiving on every node at once', async () => {
      const c = await startNodes(kind);
      try {
        const [u0, u1, u2] = c.urls as [string, string, string];
        const admin = await Client.login(u0, { username: 'admin' });
        const member = await Client.login(u1, { username: 'member' });
        const removedA = await Client.login(u1, { username: 'leaver' });
        const removedB = await Client.login(u2, { username: 'leaver' });
        await sleep(100);
        const g = (await admin.request('createGroup', { title: 'G', members: ['member', 'leaver'] })).conversation;
        await removedB.until(() => removedB.messages.length === 1);
        await admin.request('removeMember', { conversationId: g.id, user: 'leaver' });
        await removedA.until(() => removedA.messages.some((m) => m.system?.event === 'removed'));
        await removedB.until(() => removedB.messages.some((m) => m.system?.event === 'removed'));
        const counts = [removedA.messages.length, removedB.messages.length];
        await admin.request('send', { conversationId: g.id, text: 'after', clientId: 'a1' });
        await member.request('send', { conversationId: g.id, text: 'after too', clientId: 'm1' });
        await member.until(() => member.messages.some((m) => m.text === 'after'));
        await sleep(150);
        assert.deepEqual([removedA.messages.length, removedB.messages.length], counts, 'nothing after the removal, on either node');
        for (const x of [admin, member, removedA, removedB]) x.close();
      } finally {
        await c.close();
      }
    });
  });
}
