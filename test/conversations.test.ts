/** Home screen, unread counts across devices, receipts, groups: real server, real sockets. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Conversation } from '../src/protocol/schemas.js';
import WebSocket from 'ws';
import { Client, RequestError, sleep, startServer, type TestServer } from './helpers.js';

let srv: TestServer;
before(async () => { srv = await startServer({ SEND_RATE: '100000', SEND_BURST: '100000', MAX_GROUP_MEMBERS: '5', TYPING_RATE: '2' }); });
after(async () => { await srv.close(); });

const code = (expected: string) => (e: unknown) => e instanceof RequestError && e.code === expected;
type Frame = { type: string; [k: string]: unknown };

/** Every frame a client receives, for events other than messages. */
function frames(c: Client): Frame[] {
  const out: Frame[] = [];
  c.ws.on('message', (d) => out.push(JSON.parse(d.toString()) as Frame));
  return out;
}

describe('unread counts and read positions across devices', () => {
  test('reading on one device clears the unread count on the other, live and after reconnect', async () => {
    const sam = await Client.login(srv.url, { username: 'sam' });
    const phone = await Client.login(srv.url, { username: 'uma' });
    const laptop = await Client.login(srv.url, { username: 'uma' });
    const laptopFrames = frames(laptop);
    const { token: laptopToken } = await laptop.request('sync', {});
    for (let i = 1; i <= 5; i++) await sam.send('uma', `m${i}`);
    await phone.until(() => phone.messages.length === 5);
    const convId = phone.messages[0]!.conversationId;
    let home = await laptop.request('conversations', {});
    assert.equal(home.conversations[0]!.unread, 5);
    assert.equal(home.conversations[0]!.title, 'sam');

    const r = await phone.request('read', { conversationId: convId, seq: 3 });
    assert.equal(r.conversation.unread, 2);
    assert.equal(r.conversation.readSeq, 3);
    // The laptop is told live, with its position.
    await laptop.until(() => laptopFrames.some((f) => f.type === 'conversation'));
    const live = laptopFrames.find((f) => f.type === 'conversation') as unknown as { pos: number; conversation: Conversation };
    assert.equal(live.conversation.unread, 2);
    assert.equal(live.pos, laptop.pushes[laptop.pushes.length - 1]!.pos + 1, 'conversation events take positions like messages');
    // And after reconnect, through sync from an old token.
    laptop.close();
    await phone.request('read', { conversationId: convId, seq: 5 });
    const again = await Client.login(srv.url, { token: laptop.token });
    const synced = await again.syncAll(laptopToken);
    const state = (await again.request('sync', { token: laptopToken })).conversations.find((c) => c.id === convId)!;
    assert.equal(state.unread, 0);
    assert.equal(state.readSeq, 5);
    assert.equal(synced.messages.length, 5);
    home = await again.request('conversations', {});
    assert.equal(home.conversations[0]!.unread, 0);
    // Own messages never count as unread; sending marks the conversation read.
    await sam.send('uma', 'm6');
    const mine = await again.send('sam', 'my reply');
    home = await again.request('conversations', {});
    assert.equal(home.conversations[0]!.unread, 0);
    assert.equal(home.conversations[0]!.readSeq, mine.message.seq);
    // Read positions only move forward; beyond the last message is refused.
    await assert.rejects(again.request('read', { conversationId: convId, seq: 99 }), code('bad_request'));
    const back = await again.request('read', { conversationId: convId, seq: 1 });
    assert.equal(back.conversation.readSeq, mine.message.seq);
    for (const c of [sam, phone, again]) c.close();
  });
});

describe('receipts', () => {
  test('delivered and read receipts reach the sender live and after reconnect', async () => {
    const vera = await Client.login(srv.url, { username: 'vera' });
    const veraFrames = frames(vera);
    const walt = await Client.login(srv.url, { username: 'walt' });
    const { token } = await vera.request('sync', {});
    const sent = await vera.send('walt', 'did you get this?');
    const convId = sent.message.conversationId;
    await walt.until(() => walt.messages.length === 1);
    await walt.request('delivered', { conversationId: convId, seq: 1 });
    await vera.until(() => veraFrames.some((f) => f.type === 'receipt' && f.deliveredSeq === 1));
    const delivered = veraFrames.find((f) => f.type === 'receipt')!;
    assert.equal(delivered.username, 'walt');
    assert.equal(delivered.readSeq, 0);
    await walt.request('read', { conversationId: convId, seq: 1 });
    await vera.until(() => veraFrames.some((f) => f.type === 'receipt' && f.readSeq === 1));
    // After reconnect: the state carries the receipts.
    vera.close();
    const back = await Client.login(srv.url, { token: vera.token });
    const page = await back.request('sync', { token });
    const state = page.conversations.find((c) => c.id === convId)!;
    assert.deepEqual(state.receipts, [{ username: 'walt', deliveredSeq: 1, readSeq: 1 }]);
    // Stale or repeated receipts change nothing and notify nobody.
    const before = back.pushes.length;
    await walt.request('delivered', { conversationId: convId, seq: 1 });
    await sleep(50);
    assert.equal(back.pushes.length, before);
    await assert.rejects(walt.request('delivered', { conversationId: convId, seq: 2 }), code('bad_request'));
    back.close();
    walt.close();
  });
});

describe('groups', () => {
  test('create, add, rename, remove, leave: system messages, admin rights, limits', async () => {
    const ada = await Client.login(srv.url, { username: 'ada' });
    const bo = await Client.login(srv.url, { username: 'bo1' });
    const cy = await Client.login(srv.url, { username: 'cyd' });
    const cyPhone = await Client.login(srv.url, { username: 'cyd' });
    const dee = await Client.login(srv.url, { username: 'dee' });
    const { token: cyToken } = await cyPhone.request('sync', {});

    const created = await ada.request('createGroup', { title: 'Team', members: ['bo1', 'cyd'] });
    const g = created.conversation;
    assert.equal(g.kind, 'group');
    assert.equal(g.title, 'Team');
    assert.deepEqual(g.admins, ['ada']);
    assert.deepEqual([...g.members].sort(), ['ada', 'bo1', 'cyd']);
    await bo.until(() => bo.messages.length === 1);
    assert.equal(bo.messages[0]!.kind, 'system');
    assert.equal(bo.messages[0]!.system?.event, 'created');
    assert.equal(bo.pushes[0]!.conversation?.title, 'Team', 'system messages carry the new state');

    await ada.send('x', 'ignored').catch(() => undefined);
    const hello = await ada.request('send', { conversationId: g.id, text: 'hello team', clientId: 'g1' });
    await cy.until(() => cy.messages.some((m) => m.id === hello.message.id));

    // Only admins manage; non-members see nothing; unknown users and limits are refused.
    await assert.rejects(bo.request('addMembers', { conversationId: g.id, users: ['dee'] }), code('forbidden'));
    await assert.rejects(bo.request('rename', { conversationId: g.id, title: 'Mine' }), code('forbidden'));
    await assert.rejects(dee.request('addMembers', { conversationId: g.id, users: ['dee'] }), code('not_found'));
    await assert.rejects(dee.request('send', { conversationId: g.id, text: 'let me in', clientId: 'd1' }), code('not_found'));
    await assert.rejects(ada.request('addMembers', { conversationId: g.id, users: ['no-such-user'] }), code('not_found'));
    await assert.rejects(ada.request('addMembers', { conversationId: g.id, users: ['bo1'] }), code('bad_request'));
    for (const u of ['ex1', 'ex2', 'ex3']) (await Client.login(srv.url, { username: u })).close();
    await assert.rejects(ada.request('addMembers', { conversationId: g.id, users: ['dee', 'ex1', 'ex2'] }), code('too_large'));
    await assert.rejects(ada.request('createGroup', { title: 'Big', members: ['bo1', 'cyd', 'dee', 'ex1', 'ex2'] }), code('too_large'));
    const unchanged = await ada.request('history', { conversationId: g.id });
    assert.equal(unchanged.messages.length, 2, 'refused changes wrote nothing');

    const added = await ada.request('addMembers', { conversationId: g.id, users: ['dee'] });
    assert.ok(added.conversation.members.includes('dee'));
    const renamed = await ada.request('rename', { conversationId: g.id, title: 'The Team' });
    assert.equal(renamed.conversation.title, 'The Team');

    // cyd is removed: both devices get the removal, then nothing.
    const removal = await ada.request('removeMember', { conversationId: g.id, user: 'cyd' });
    assert.ok(!removal.conversation.members.includes('cyd'));
    await cy.until(() => cy.messages.some((m) => m.system?.event === 'removed'));
    await cyPhone.until(() => cyPhone.messages.some((m) => m.system?.event === 'removed'));
    const removedAt = cy.messages.find((m) => m.system?.event === 'removed')!.seq;
    const cyCount = cy.messages.length;
    await ada.request('send', { conversationId: g.id, text: 'after cyd left', clientId: 'g2' });
    await bo.request('send', { conversationId: g.id, text: 'secret plans', clientId: 'b2' });
    await dee.until(() => dee.messages.some((m) => m.text === 'secret plans'));
    await sleep(100);
    assert.equal(cy.messages.length, cyCount, 'no live message after removal');
    const hist = await cy.request('history', { conversationId: g.id });
    assert.equal(hist.messages[hist.messages.length - 1]!.seq, removedAt, 'history ends at the removal');
    const synced = await cyPhone.syncAll(cyToken);
    assert.ok(synced.messages.every((m) => m.seq <= removedAt), 'sync ends at the removal');
    const cyHome = await cy.request('conversations', {});
    const cyView = cyHome.conversations.find((c) => c.id === g.id)!;
    assert.equal(cyView.left, true);
    assert.equal(cyView.lastSeq, removedAt);
    await assert.rejects(cy.request('send', { conversationId: g.id, text: 'still here?', clientId: 'c9' }), code('not_found'));
    // A removed member may still mark the history read, in the same batch as others' sends.
    const [readBack, concurrent] = await Promise.all([
      cy.request('read', { conversationId: g.id, seq: removedAt }),
      bo.request('send', { conversationId: g.id, text: 'same batch', clientId: 'b3' }),
    ]);
    assert.equal(readBack.conversation.left, true);
    assert.equal(readBack.conversation.unread, 0);
    assert.equal(concurrent.message.text, 'same batch');
    await assert.rejects(cy.request('typing', { conversationId: g.id }), code('not_found'));

    // The last admin leaves: someone else becomes admin.
    const left = await ada.request('leave', { conversationId: g.id });
    assert.equal(left.conversation.left, true);
    const boHome = await bo.request('conversations', {});
    const boView = boHome.conversations.find((c) => c.id === g.id)!;
    assert.equal(boView.admins.length, 1);
    assert.ok(!boView.members.includes('ada'));
    const timeline = await bo.request('history', { conversationId: g.id });
    assert.deepEqual(timeline.messages.filter((m) => m.kind === 'system').map((m) => m.system!.event), ['created', 'added', 'renamed', 'removed', 'left']);
    for (const c of [ada, bo, cy, cyPhone, dee]) c.close();
  });
});

describe('typing and presence', () => {
  test('typing reaches the other members, is never stored, expires, and floods are refused', async () => {
    const tia = await Client.login(srv.url, { username: 'tia' });
    const tod = await Client.login(srv.url, { username: 'tod' });
    const todFrames = frames(tod);
    const m = await tia.send('tod', 'hi');
    const convId = m.message.conversationId;
    const { token } = await tod.request('sync', {});
    await tia.request('typing', { conversationId: convId });
    await tod.until(() => todFrames.some((f) => f.type === 'typing'));
    const t = todFrames.find((f) => f.type === 'typing')!;
    assert.equal(t.user, 'tia');
    assert.equal(t.active, true);
    assert.ok((t.expiresInMs as number) > 0);
    assert.equal(t.pos, undefined, 'typing takes no position');
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => tia.request('typing', { conversationId: convId })));
    assert.ok(results.some((r) => r.status === 'rejected' && (r.reason as RequestError).code === 'rate_limited'), 'a flood is refused');
    assert.ok(todFrames.filter((f) => f.type === 'typing').length <= 2, 'repeats within the window are not re-broadcast');
    const after = await tod.request('sync', { token });
    assert.deepEqual(after.messages, [], 'nothing stored');
    tia.close();
    tod.close();
  });

  test('presence goes online and offline with connections, visible only to users who share a conversation', async () => {
    const obs = await Client.login(srv.url, { username: 'observer' });
    const obsFrames = frames(obs);
    const p1 = await Client.login(srv.url, { username: 'present' });
    await p1.send('observer', 'hello');
    const stranger = await Client.login(srv.url, { username: 'stranger' });
    let r = await obs.request('presence', { users: ['present', 'stranger', 'nobody-at-all'] });
    assert.deepEqual(r.users, [{ username: 'present', online: true }], 'only users who share a conversation are visible');
    p1.close();
    await obs.until(() => obsFrames.some((f) => f.type === 'presence' && f.user === 'present' && f.online === false), 5000, 'offline push');
    r = await obs.request('presence', { users: ['present'] });
    assert.equal(r.users[0]!.online, false);
    assert.ok((r.users[0]!.lastActiveAt ?? 0) > Date.now() - 10000);
    stranger.close();
    obs.close();
  });

  test('offline and back within the throttle window: a contact who asked in between is told the user is online', async () => {
    const flap = await Client.login(srv.url, { username: 'flapper' });
    const newbie = await Client.login(srv.url, { username: 'newbie' });
    const seen = frames(newbie);
    await newbie.send('flapper', 'are you there?');
    flap.close();
    await flap.closed;
    await sleep(50);
    // newbie asks while flapper is away, inside the window that follows flapper's online push.
    assert.equal((await newbie.request('presence', { users: ['flapper'] })).users[0]!.online, false);
    const back = await Client.login(srv.url, { username: 'flapper' });
    await newbie.until(() => seen.some((f) => f.type === 'presence' && f.user === 'flapper' && f.online === true), 5000, 'flapper is back');
    back.close();
    newbie.close();
  });

  test('a connection that dies without closing goes offline within the heartbeat bound', async () => {
    const fast = await startServer({ HEARTBEAT_MS: '200', PRESENCE_THROTTLE_MS: '0' });
    const obs = await Client.login(fast.url, { username: 'watcher' });
    const obsFrames = frames(obs);
    // A client that never answers pings: like a phone that lost its network.
    const ghost = new WebSocket(fast.url, { autoPong: false });
    await new Promise((r) => ghost.once('open', r));
    const loggedIn = new Promise((r) => ghost.once('message', r));
    ghost.send(JSON.stringify({ type: 'login', id: '1', username: 'ghost' }));
    await loggedIn;
    ghost.send(JSON.stringify({ type: 'send', id: '2', clientId: 'g', to: 'watcher', text: 'boo' }));
    await obs.until(() => obs.messages.length === 1);
    assert.deepEqual((await obs.request('presence', { users: ['ghost'] })).users, [{ username: 'ghost', online: true }]);
    const t0 = Date.now();
    await obs.until(() => obsFrames.some((f) => f.type === 'presence' && f.user === 'ghost' && f.online === false), 5000, 'ghost offline');
    assert.ok(Date.now() - t0 < 2000, `offline after ${Date.now() - t0} ms`);
    ghost.terminate();
    obs.close();
    await fast.close();
  });
});
