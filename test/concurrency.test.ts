/**
 * The trap of DESIGN.md section 2: a cursor that a reader can move past a
 * change that has not committed yet. Two server processes write into one
 * SQLite file at once (each process commits its own batches), while devices
 * sync again and again. Every acked message must reach every member device
 * exactly once through sync, and every conversation's seq must be gapless.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Message } from '../src/protocol/schemas.js';
import { Client, key, dropDatabases, freshDatabase, spawnServer, tempDir } from './helpers.js';

const tmp = tempDir();
const servers: Awaited<ReturnType<typeof spawnServer>>[] = [];

before(async () => {
  const env = {
    DATABASE_URL: (await freshDatabase(tmp.dir, 'shared')).url, SEND_RATE: '100000', SEND_BURST: '100000', LOG_LEVEL: 'warn',
    SQLITE_SYNCHRONOUS: 'normal',
  };
  // Migrate once, then two writers on the same file.
  servers.push(await spawnServer(env));
  servers.push(await spawnServer(env));
});

after(async () => {
  for (const s of servers) s.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
  await dropDatabases();
  tmp.cleanup();
});

test('concurrent writers on two processes: sync sees every acked message exactly once, seqs are gapless', async () => {
  const readers = ['reader0', 'reader1', 'reader2'];
  const writers = Array.from({ length: 12 }, (_, i) => `writer${i}`);
  const urls = servers.map((s) => s.url);

  // Each reader has a syncing device on each server; pushes are ignored: only sync counts.
  const readerDevices = await Promise.all(readers.flatMap((r) => urls.map((u) => Client.login(u, { username: r }))));
  const writerClients = await Promise.all(writers.map((w, i) => Client.login(urls[i % urls.length]!, { username: w })));
  const startTokens = await Promise.all(readerDevices.map((d) => d.request('sync', {}).then((r) => r.token)));

  let writing = true;
  const seen = readerDevices.map(() => [] as Message[]);
  const syncLoops = readerDevices.map(async (d, i) => {
    let token = startTokens[i]!;
    let rounds = 0;
    while (writing || rounds === 0) {
      const r = await d.request('sync', { token, limit: 37 });
      seen[i]!.push(...r.messages);
      token = r.token;
      rounds++;
      if (!r.hasMore) await new Promise((res) => setTimeout(res, 2));
    }
    const rest = await d.syncAll(token, 500);
    seen[i]!.push(...rest.messages);
    return rounds;
  });

  // Writers send to readers (shared conversations) and to each other (separate ones).
  const acked: Message[] = [];
  const perWriter = 120;
  await Promise.all(writerClients.map(async (w, wi) => {
    for (let n = 0; n < perWriter; n += 8) {
      const sends = Array.from({ length: 8 }, (_, j) => {
        const to = (n + j) % 3 === 2 ? writers[(wi + 1 + j) % writers.length]! : readers[(wi + n + j) % readers.length]!;
        return w.send(to, `${w.username}->${to} ${n + j}`);
      });
      acked.push(...(await Promise.all(sends)).map((r) => r.message));
    }
  }));
  writing = false;
  const rounds = await Promise.all(syncLoops);
  assert.ok(rounds.every((r) => r > 5), `devices synced repeatedly while writes ran (${rounds.join(',')})`);
  assert.equal(acked.length, writers.length * perWriter);

  // Every reader device saw exactly the acked messages of its conversations, once each.
  readerDevices.forEach((d, i) => {
    const reader = readers[Math.floor(i / urls.length)]!;
    const expected = acked.filter((m) => m.text.includes(`->${reader} `));
    const keys = seen[i]!.map(key);
    assert.equal(keys.length, new Set(keys).size, `${reader} device ${i}: no duplicate through sync`);
    assert.deepEqual(new Set(keys), new Set(expected.map(key)), `${reader} device ${i}: nothing missing, nothing extra`);
  });

  // Every conversation's seq is gapless and holds exactly its acked messages.
  const byConv = new Map<string, Message[]>();
  for (const m of acked) byConv.set(m.conversationId, [...(byConv.get(m.conversationId) ?? []), m]);
  for (const [conv, msgs] of byConv) {
    const seqs = msgs.map((m) => m.seq).sort((a, b) => a - b);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `conversation ${conv} gapless`);
  }
  const sender = writerClients[0]!;
  const someConv = acked.find((m) => m.sender === sender.username)!.conversationId;
  const hist = await sender.request('history', { conversationId: someConv, limit: 1000 });
  assert.deepEqual(hist.messages.map((m) => m.seq), Array.from({ length: byConv.get(someConv)!.length }, (_, i) => i + 1));

  for (const c of [...readerDevices, ...writerClients]) c.close();
});
