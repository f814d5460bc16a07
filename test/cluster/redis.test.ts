/** Redis-backed bus and presence under faults, on a private Redis the test can pause and lose. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Client, sleep, spawnServer, startServer, tempDir } from '../helpers.js';
import { OwnRedis } from '../services.js';

const redis = new OwnRedis();
const tmp = tempDir();
before(async () => { await redis.start(); });
after(async () => {
  await redis.kill();
  tmp.cleanup();
});

test('a node whose bus subscription stalls fails /readyz, and recovers by itself', async () => {
  const srv = await startServer({ REDIS_URL: redis.url });
  try {
    const ready = async () => (await fetch(`${srv.http}/readyz`)).status;
    assert.equal(await ready(), 200);
    // Redis stops answering everything for 9 s: publications queue, probes stop arriving.
    spawnSync('redis-cli', ['-p', String(redis.port), 'CLIENT', 'PAUSE', '9000', 'ALL']);
    const t0 = Date.now();
    while ((await ready()) === 200) {
      assert.ok(Date.now() - t0 < 9000, 'readiness failed while the subscription was stalled');
      await sleep(250);
    }
    const failedAfter = Date.now() - t0;
    while ((await ready()) !== 200) {
      assert.ok(Date.now() - t0 < 20000, 'ready again after the stall');
      await sleep(250);
    }
    assert.ok(failedAfter >= 2000, `not failed on the first missed probe (${failedAfter} ms)`);
  } finally {
    await srv.close();
  }
});

test("a crashed node's users go offline within the presence expiry", async () => {
  const env = { DATABASE_URL: `sqlite:${tmp.dir}/presence.db`, REDIS_URL: redis.url, PRESENCE_TTL_MS: '2000', SQLITE_SYNCHRONOUS: 'normal' };
  const a = await spawnServer(env);
  const b = await spawnServer(env);
  try {
    const doomed = await Client.login(a.url, { username: 'doomed' });
    const watcher = await Client.login(b.url, { username: 'watcher' });
    await doomed.send('watcher', 'hi');
    const online = async () => (await watcher.request('presence', { users: ['doomed'] })).users[0]?.online;
    assert.equal(await online(), true, 'online through another node');
    a.child.kill('SIGKILL');
    await a.exited;
    const t0 = Date.now();
    while (await online()) {
      assert.ok(Date.now() - t0 < 5000, 'offline within the expiry (2 s) plus a renewal interval');
      await sleep(100);
    }
    watcher.close();
  } finally {
    b.child.kill('SIGKILL');
    await b.exited;
  }
});
