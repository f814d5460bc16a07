/**
 * The day-offline scenario: a user with 1,000 conversations (50 messages
 * each) goes offline while 10,000 messages arrive across 300 of them. On
 * reconnect the home-screen delta lists exactly those 300 with the right
 * last message and unread count, and every missed message arrives once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WriteItem } from '../src/ports/store.js';
import type { Conversation, Message } from '../src/protocol/schemas.js';
import { Client, key, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
before(async () => { srv = await startServer({ SEND_RATE: '100000', SEND_BURST: '100000', PAGE_SIZE_MAX: '1000' }); });
after(async () => { await srv.close(); });

const PEERS = 1000;
const PER_CONVERSATION = 50;
const CHANGED = 300;
const MISSED = 10_000;
const peerName = (i: number) => `peer${String(i).padStart(4, '0')}`;

test('1,000 conversations, 10,000 messages across 300 while offline: exact home-screen delta, every message once', async () => {
  const store = srv.app.store;
  const now = Date.now();
  // Seed the history through the store (the same write path as sends, without 50,000 socket round trips).
  const hubUser = await store.upsertUser('hubuser', now);
  const peers = [];
  for (let i = 0; i < PEERS; i++) peers.push(await store.upsertUser(peerName(i), now));
  for (let n = 0; n < PER_CONVERSATION; n++) {
    const batch: WriteItem[] = peers.map((p, i) => (n % 2 === 0
      ? { kind: 'send', senderId: p.id, clientId: `seed-${n}`, target: { kind: 'user', userId: hubUser.id }, text: `seed ${n}`, sentAt: now + n }
      : { kind: 'send', senderId: hubUser.id, clientId: `seed-${i}-${n}`, target: { kind: 'user', userId: p.id }, text: `reply ${n}`, sentAt: now + n }));
    await store.write(batch);
  }
  const hub = await Client.login(srv.url, { username: 'hubuser' });
  const first = await hub.request('sync', {});
  assert.equal(first.conversations.length, 100, 'a new device gets one page of the home screen, not 1,000');
  const home = await hub.request('conversations', { limit: 1000 });
  assert.equal(home.conversations.length, PEERS);
  assert.ok(home.conversations.every((c) => c.unread === 0 && c.lastSeq === PER_CONVERSATION));
  const token = first.token;
  hub.close();
  await hub.closed;

  // 10,000 messages from 300 peers over real sockets while the hub user is offline.
  const changed = Array.from({ length: CHANGED }, (_, i) => (i * 7) % PEERS); // spread over the list
  const expected = new Map<string, number>(); // peer -> messages sent
  const senders = await Promise.all(changed.map((i) => Client.login(srv.url, { username: peerName(i) })));
  const sent: Message[] = [];
  let next = 0;
  await Promise.all(senders.map(async (c, si) => {
    const count = Math.floor(MISSED / CHANGED) + (si < MISSED % CHANGED ? 1 : 0);
    expected.set(c.username, count);
    for (let k = 0; k < count; k += 10) {
      const acks = await Promise.all(Array.from({ length: Math.min(10, count - k) }, () => c.send('hubuser', `missed ${next++}`)));
      sent.push(...acks.map((a) => a.message));
    }
  }));
  assert.equal(sent.length, MISSED);
  for (const c of senders) c.close();

  // Back online: first the home-screen delta, most recent first, paged.
  const back = await Client.login(srv.url, { token: hub.token });
  const delta: Conversation[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await back.request('conversations', before === undefined ? { since: token, limit: 50 } : { since: token, limit: 50, before });
    delta.push(...page.conversations);
    if (!page.next) break;
    before = page.next;
  }
  assert.equal(delta.length, CHANGED, 'exactly the conversations that changed');
  assert.deepEqual(new Set(delta.map((c) => c.title)), new Set(expected.keys()));
  const lastByConv = new Map<string, Message>();
  for (const m of sent) if ((lastByConv.get(m.conversationId)?.seq ?? 0) < m.seq) lastByConv.set(m.conversationId, m);
  for (const c of delta) {
    assert.equal(c.unread, expected.get(c.title), `${c.title}: unread`);
    assert.equal(c.lastMessage?.id, lastByConv.get(c.id)?.id, `${c.title}: last message`);
    assert.equal(c.lastSeq, PER_CONVERSATION + expected.get(c.title)!);
  }
  const updated = delta.map((c) => c.updatedAt);
  assert.deepEqual(updated, [...updated].sort((a, b) => b - a), 'most recent first');

  // Then every missed message, once, through sync.
  const synced = await back.syncAll(token, 1000);
  assert.equal(synced.messages.length, MISSED);
  assert.equal(new Set(synced.messages.map(key)).size, MISSED);
  assert.deepEqual(new Set(synced.messages.map((m) => m.id)), new Set(sent.map((m) => m.id)));
  const states = new Set<string>();
  let r = await back.request('sync', { token });
  for (;;) {
    for (const c of r.conversations) states.add(c.id);
    if (!r.hasMore) break;
    r = await back.request('sync', { token: r.token, limit: 1000 });
  }
  assert.equal(states.size, CHANGED, 'sync describes only the changed conversations');
  back.close();
});
