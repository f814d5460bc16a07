import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Message } from '../src/protocol/schemas.js';
import { Client, key, sleep, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
before(async () => { srv = await startServer({ SEND_RATE: '100000', SEND_BURST: '100000' }); });
after(async () => { await srv.close(); });

test('a device offline while 1,000 messages arrive gets exactly those 1,000 through sync', async () => {
  const bob = await Client.login(srv.url, { username: 'bob' });
  const alice = await Client.login(srv.url, { username: 'alice' });
  const carol = await Client.login(srv.url, { username: 'carol' });
  const dave = await Client.login(srv.url, { username: 'dave' });
  // Existing conversations with alice and carol; nothing yet with dave.
  await alice.send('bob', 'before 1');
  await carol.send('bob', 'before 2');
  await bob.until(() => bob.messages.length === 2);
  const { token } = await bob.request('sync', {});
  assert.ok(token);
  const phoneToken = bob.token;
  bob.close();
  await bob.closed;

  // 1,000 messages from three senders, concurrently, one conversation new.
  const acked: Message[] = [];
  const senders: [Client, number][] = [[alice, 400], [carol, 300], [dave, 300]];
  await Promise.all(senders.map(async ([c, n]) => {
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => c.send('bob', `${c.username} ${i + j}`)));
      acked.push(...batch.map((b) => b.message));
    }
  }));
  assert.equal(acked.length, 1000);

  const back = await Client.login(srv.url, { token: phoneToken });
  const synced = await back.syncAll(token, 300);
  assert.ok(synced.pages >= 4, 'bounded pages');
  assert.equal(synced.messages.length, 1000);
  assert.equal(new Set(synced.messages.map(key)).size, 1000, 'no duplicate');
  assert.deepEqual(new Set(synced.messages.map((m) => m.id)), new Set(acked.map((m) => m.id)), 'exactly the acked messages');
  const byConv = new Map<string, number[]>();
  for (const m of synced.messages) byConv.set(m.conversationId, [...(byConv.get(m.conversationId) ?? []), m.seq]);
  assert.equal(byConv.size, 3);
  for (const seqs of byConv.values()) {
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'each conversation in seq order');
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, 'no gap');
  }

  // The new conversation is described in the pages, and nothing is left.
  const rest = await back.request('sync', { token: synced.token });
  assert.deepEqual(rest.messages, []);
  assert.equal(rest.hasMore, false);
  const convs = await back.request('conversations');
  assert.equal(convs.conversations.length, 3);
  assert.ok(convs.conversations.some((c) => c.members.includes('dave')));
  for (const c of [alice, carol, dave, back]) c.close();
});

test('a new device gets the current token and recent conversations, not the whole history', async () => {
  const eve = await Client.login(srv.url, { username: 'eve' });
  const fay = await Client.login(srv.url, { username: 'fay' });
  for (let i = 0; i < 30; i++) await eve.send('fay', `old ${i}`);
  const fresh = await Client.login(srv.url, { username: 'fay' });
  const first = await fresh.request('sync', {});
  assert.deepEqual(first.messages, []);
  assert.equal(first.conversations.length, 1);
  assert.equal(first.conversations[0]!.lastMessage?.text, 'old 29');
  await eve.send('fay', 'new');
  await sleep(50);
  const next = await fresh.request('sync', { token: first.token });
  assert.deepEqual(next.messages.map((m) => m.text), ['new']);
  for (const c of [eve, fay, fresh]) c.close();
});

test('live pushes and sync agree: subscribe, then sync, de-duplicate by (conversation, seq)', async () => {
  const gus = await Client.login(srv.url, { username: 'gus' });
  const hal = await Client.login(srv.url, { username: 'hal' });
  const { token } = await hal.request('sync', {});
  // hal's second device logs in (subscribed) while messages are flowing, then syncs.
  const sending = Promise.all(Array.from({ length: 200 }, (_, i) => gus.send('hal', `m${i}`)));
  await sleep(5);
  const tablet = await Client.login(srv.url, { username: 'hal' });
  const synced = await tablet.syncAll(token, 50);
  await sending;
  await tablet.until(() => new Set([...synced.messages, ...tablet.messages].map(key)).size === 200, 5000, 'all 200');
  const seen = new Set([...synced.messages, ...tablet.messages].map(key));
  assert.equal(seen.size, 200);
  for (const c of [gus, hal, tablet]) c.close();
});
