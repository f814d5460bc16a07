/** Acked messages survive `kill -9` of the server in the middle of a stream of sends. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Message } from '../src/protocol/schemas.js';
import { Client, key, dropDatabases, freshDatabase, spawnServer, tempDir } from './helpers.js';

const tmp = tempDir();
after(async () => {
  await dropDatabases();
  tmp.cleanup();
});

test('acked messages survive kill -9 and a restart', async () => {
  // The default durability setting (SQLITE_SYNCHRONOUS=full).
  const env = { DATABASE_URL: (await freshDatabase(tmp.dir, 'crash')).url, SEND_RATE: '100000', SEND_BURST: '100000', LOG_LEVEL: 'warn' };
  const first = await spawnServer(env);
  const rcpt = await Client.login(first.url, { username: 'recipient' });
  const { token } = await rcpt.request('sync', {});
  const senders = await Promise.all(['sender1', 'sender2', 'sender3'].map((u) => Client.login(first.url, { username: u })));

  const acked: Message[] = [];
  let attempted = 0;
  const streams = senders.map(async (s) => {
    for (;;) {
      const inFlight = Array.from({ length: 10 }, () => {
        attempted++;
        return s.send('recipient', `from ${s.username} #${attempted}`).then((r) => acked.push(r.message), () => undefined);
      });
      await Promise.all(inFlight);
      if (s.ws.readyState !== 1) return;
    }
  });
  while (acked.length < 600) await new Promise((r) => setTimeout(r, 5));
  first.child.kill('SIGKILL');
  await first.exited;
  await Promise.all(streams);
  const ackedAtKill = acked.length;
  assert.ok(ackedAtKill >= 600);

  const second = await spawnServer(env);
  try {
    const back = await Client.login(second.url, { token: rcpt.token });
    const synced = await back.syncAll(token, 1000);
    const got = new Set(synced.messages.map((m) => m.id));
    const lost = acked.filter((m) => !got.has(m.id));
    assert.deepEqual(lost, [], `all ${ackedAtKill} acked messages survived (sent ${attempted})`);
    assert.equal(new Set(synced.messages.map(key)).size, synced.messages.length, 'no duplicates');
    // Seqs stay gapless per conversation after the crash, and new sends continue them.
    const s1 = await Client.login(second.url, { token: senders[0]!.token });
    const next = await s1.send('recipient', 'after restart');
    const hist = await s1.request('history', { conversationId: next.message.conversationId, limit: 1000 });
    assert.deepEqual(hist.messages.map((m) => m.seq), Array.from({ length: hist.messages.length }, (_, i) => i + 1));
    back.close();
    s1.close();
  } finally {
    second.child.kill('SIGKILL');
    await second.exited;
  }
});
