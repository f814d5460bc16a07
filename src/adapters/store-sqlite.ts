import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { AccountQueries } from './accounts.js';
import { migrateToLatest } from './migrations.js';
import { systemText } from './system-text.js';
import { planGroupChange } from './group-change.js';
import {
  MEDIA_COLUMNS, MEMBERSHIP_COLUMNS, MESSAGE_COLUMNS, mediaValues, pictureMeta, toStoredConversation, toStoredMedia, toStoredMessage, visibleLastSeq,
  type MediaRow, type MemberRow, type MembershipRow, type MessageRow,
} from './rows.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import type { Worker } from 'node:worker_threads';
import type {
  GroupChange, GroupOutcome, Recipient, SendTarget, Store, StoredAccount, StoredConversation, StoredDevice, StoredDeviceInfo, StoredMedia, StoredMessage, StoredPicture, StoredUser,
  SyncPage, SystemEvent, WriteItem, WriteOutcome,
} from '../ports/store.js';

function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insertUser: p('INSERT INTO users (username, username_key, pos, created_at) VALUES (?, ?, 0, ?) ON CONFLICT (username_key) DO NOTHING'),
    userByKey: p('SELECT id, username FROM users WHERE username_key = ?'),
    userName: p('SELECT username FROM users WHERE id = ?').pluck(),
    userPos: p('SELECT pos FROM users WHERE id = ?').pluck(),
    setUserPos: p('UPDATE users SET pos = ? WHERE id = ?'),
    setLastActive: p('UPDATE users SET last_active_at = ? WHERE id = ?'),
    lastActive: p('SELECT last_active_at FROM users WHERE id = ?').pluck(),

    directByKey: p('SELECT id FROM conversations WHERE direct_key = ?').pluck(),
    insertConversation: p('INSERT INTO conversations (kind, title, direct_key, last_seq, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)'),
    insertMembership: p(`INSERT INTO memberships (user_id, conv_id, role, pos, joined_at) VALUES (?, ?, ?, 0, ?)
                         ON CONFLICT (user_id, conv_id) DO UPDATE SET left_seq = NULL, role = excluded.role`),
    conversation: p('SELECT id, kind, title, last_seq FROM conversations WHERE id = ?'),
    convSeq: p('SELECT last_seq FROM conversations WHERE id = ?').pluck(),
    setConvSeq: p('UPDATE conversations SET last_seq = ?, updated_at = ? WHERE id = ?'),
    setTitle: p('UPDATE conversations SET title = ? WHERE id = ?'),

    activeMemberIds: p('SELECT user_id FROM memberships WHERE conv_id = ? AND left_seq IS NULL').pluck(),
    firstMember: p('SELECT user_id FROM memberships WHERE conv_id = ? AND left_seq IS NULL ORDER BY joined_at, user_id LIMIT 1').pluck(),
    activeMembers: p(`SELECT u.username, mb.user_id, mb.role, mb.read_seq, mb.delivered_seq FROM memberships mb JOIN users u ON u.id = mb.user_id
                      WHERE mb.conv_id = ? AND mb.left_seq IS NULL ORDER BY mb.joined_at, u.username_key`),
    membership: p('SELECT role, read_seq, delivered_seq, left_seq FROM memberships WHERE user_id = ? AND conv_id = ?'),
    membershipView: p(`SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id WHERE mb.user_id = ? AND mb.conv_id = ?`),
    onNewMessage: p('UPDATE memberships SET pos = ?, unread = unread + ? WHERE user_id = ? AND conv_id = ?'),
    onOwnMessage: p('UPDATE memberships SET pos = ?, read_seq = ?, delivered_seq = max(delivered_seq, ?), unread = 0 WHERE user_id = ? AND conv_id = ?'),
    setMembershipPos: p('UPDATE memberships SET pos = ? WHERE user_id = ? AND conv_id = ?'),
    setRead: p('UPDATE memberships SET read_seq = ?, delivered_seq = max(delivered_seq, ?), unread = ? WHERE user_id = ? AND conv_id = ?'),
    setDelivered: p('UPDATE memberships SET delivered_seq = ? WHERE user_id = ? AND conv_id = ?'),
    setLeft: p('UPDATE memberships SET left_seq = ?, pos = ?, role = \'member\' WHERE user_id = ? AND conv_id = ?'),
    setRole: p('UPDATE memberships SET role = ? WHERE user_id = ? AND conv_id = ?'),
    countUnread: p('SELECT count(*) FROM messages WHERE conv_id = ? AND seq > ? AND seq <= ? AND sender_id != ?').pluck(),

    messageByClientId: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.sender_id = ? AND m.client_id = ?`),
    messageBySeq: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conv_id = ? AND m.seq = ?`),
    insertMessage: p('INSERT INTO messages (conv_id, seq, sender_id, client_id, kind, body, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    insertLog: p("INSERT INTO user_log (user_id, pos, kind, conv_id, seq) VALUES (?, ?, 'message', ?, ?)"),
    logPage: p(`SELECT l.pos, ${MESSAGE_COLUMNS} FROM user_log l JOIN messages m ON m.conv_id = l.conv_id AND m.seq = l.seq
                WHERE l.user_id = ? AND l.pos > ? ORDER BY l.pos LIMIT ?`),
    changedPage: p(`SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
                    WHERE mb.user_id = ? AND mb.pos > ? AND mb.pos <= ? ORDER BY mb.pos LIMIT ?`),
    history: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conv_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`),
    recent: p(`SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
               WHERE mb.user_id = ? AND mb.pos > ? AND mb.pos < ? ORDER BY mb.pos DESC LIMIT ?`),
    contacts: p(`SELECT DISTINCT b.user_id FROM memberships a JOIN memberships b ON b.conv_id = a.conv_id
                 WHERE a.user_id = ? AND a.left_seq IS NULL AND b.left_seq IS NULL AND b.user_id != a.user_id`).pluck(),
    ping: p('SELECT 1').pluck(),

    insertMedia: p(`INSERT INTO media (${MEDIA_COLUMNS}) VALUES (${MEDIA_COLUMNS.split(',').map(() => '?').join(', ')})`),
    mediaById: p(`SELECT ${MEDIA_COLUMNS} FROM media WHERE id = ?`),
    markMediaSent: p('UPDATE media SET sent_at = ? WHERE id = ? AND sent_at IS NULL'),
    unsentMedia: p(`SELECT ${MEDIA_COLUMNS} FROM media WHERE sent_at IS NULL AND created_at < ? ORDER BY created_at LIMIT ?`),
    deleteMedia: p('DELETE FROM media WHERE id = ?'),
    mediaKeyUsed: p('SELECT EXISTS (SELECT 1 FROM media WHERE blob_key = ?) OR EXISTS (SELECT 1 FROM media WHERE thumb_key = ?)').pluck(),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/** Positions handed out in one transaction, written back to the users table at its end. */
class PositionCounter {
  private readonly next = new Map<number, number>();
  constructor(private readonly s: Statements) {}

  take(userId: number): number {
    const pos = (this.next.get(userId) ?? (this.s.userPos.get(userId) as number)) + 1;
    this.next.set(userId, pos);
    return pos;
  }

  flush(): void {
    for (const [userId, pos] of this.next) this.s.setUserPos.run(pos, userId);
  }
}

/**
 * SQLite adapter. The schema comes from the shared Kysely migrations; queries
 * are prepared better-sqlite3 statements. A batch of writes is one
 * synchronous IMMEDIATE transaction: it holds the database's write lock from
 * its first statement, which plays the role of the row locks of the Store
 * contract (several processes may share the file).
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly names = new Map<number, string>();
  private readonly directIds = new Map<string, number>();
  /** Direct conversations created by the transaction in progress: cached only once it commits. */
  private createdDirect = new Map<string, number>();
  private s!: Statements;
  private accounts!: AccountQueries;
  private checkpointer: Worker | undefined;

  constructor(path: string, opts: { synchronous?: 'full' | 'normal' } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.db.pragma('mmap_size = 268435456');
    if (path !== ':memory:') {
      // Checkpoints run in a worker thread (see sqlite-checkpointer.ts); the
      // automatic ones would stop the event loop. The high automatic limit is
      // only a safety net should the worker fall behind.
      this.db.pragma('wal_autocheckpoint = 100000');
      this.checkpointer = startCheckpointer(path);
    }
  }

  async migrate(): Promise<void> {
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: this.db }) });
    await migrateToLatest(kysely);
    // Kysely is not destroyed: that would close the shared better-sqlite3 handle.
    this.s = prepareStatements(this.db);
    this.accounts = new AccountQueries(kysely);
  }

  async ping(): Promise<void> {
    this.s.ping.get();
  }

  async close(): Promise<void> {
    if (this.checkpointer) {
      const exited = new Promise((r) => this.checkpointer!.once('exit', r));
      this.checkpointer.ref(); // keep the process alive until the worker has closed its connection
      this.checkpointer.postMessage('stop');
      await exited;
      this.checkpointer = undefined;
    }
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- accounts

  async upsertUser(username: string, now: number): Promise<StoredUser> {
    const key = username.toLowerCase();
    this.s.insertUser.run(username, key, now);
    const row = this.s.userByKey.get(key) as { id: number; username: string };
    this.names.set(row.id, row.username);
    return { id: row.id, username: row.username };
  }

  async findUserByName(username: string): Promise<StoredUser | undefined> {
    const row = this.s.userByKey.get(username.toLowerCase()) as { id: number; username: string } | undefined;
    return row && { id: row.id, username: row.username };
  }

  createUser(username: string, passwordHash: string, now: number): Promise<StoredUser | undefined> {
    return this.accounts.createUser(username, passwordHash, now);
  }
  account(username: string): Promise<StoredAccount | undefined> {
    return this.accounts.account(username);
  }
  passwordHash(userId: number): Promise<string | null> {
    return this.accounts.passwordHash(userId);
  }
  setPasswordHash(userId: number, hash: string): Promise<void> {
    return this.accounts.setPasswordHash(userId, hash);
  }
  createDevice(userId: number, tokenHash: string, now: number, expiresAt: number, name?: string): Promise<StoredDevice> {
    return this.accounts.createDevice(userId, tokenHash, now, expiresAt, name);
  }
  findDevice(tokenHash: string, now: number) {
    return this.accounts.findDevice(tokenHash, now);
  }
  touchDevice(deviceId: number, now: number, expiresAt: number): Promise<void> {
    return this.accounts.touchDevice(deviceId, now, expiresAt);
  }
  devices(userId: number, now: number): Promise<StoredDeviceInfo[]> {
    return this.accounts.devices(userId, now);
  }
  revokeDevices(userId: number, ids: number[] | { allBut: number }, now: number): Promise<number[]> {
    return this.accounts.revoke(userId, ids, now);
  }

  async setLastActive(userId: number, at: number): Promise<void> {
    this.s.setLastActive.run(at, userId);
  }

  async lastActive(userIds: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const id of userIds) {
      const at = this.s.lastActive.get(id) as number | null | undefined;
      if (at != null) out.set(id, at);
    }
    return out;
  }

  async usernames(userIds: number[]): Promise<Map<number, string>> {
    return new Map(userIds.map((id) => [id, this.nameOf(id)]));
  }

  // ---------------------------------------------------------------- writes

  async write(items: WriteItem[]): Promise<WriteOutcome[]> {
    this.createdDirect = new Map();
    try {
      const out = this.db.transaction(() => {
        const positions = new PositionCounter(this.s);
        const res = items.map((item) => (item.kind === 'send' ? this.sendOne(item, positions) : this.receiptOne(item, positions)));
        positions.flush();
        return res;
      }).immediate();
      // Committed: the new conversations exist; a rolled-back id would be handed out again by SQLite.
      for (const [k, id] of this.createdDirect) this.directIds.set(k, id);
      return out;
    } finally {
      this.createdDirect = new Map();
    }
  }

  private sendOne(item: Extract<WriteItem, { kind: 'send' }>, positions: PositionCounter): WriteOutcome {
    const dup = this.s.messageByClientId.get(item.senderId, item.clientId) as MessageRow | undefined;
    if (dup) return { ok: true, kind: 'send', duplicate: true, message: this.toMessage(dup) };
    let picture: StoredPicture | undefined;
    if (item.mediaId !== undefined) {
      // Only the uploader may send a picture; anyone else learns nothing about it.
      const media = this.s.mediaById.get(item.mediaId) as MediaRow | undefined;
      if (!media || media.uploader_id !== item.senderId) return { ok: false, code: 'not_found', message: 'no such picture' };
      picture = JSON.parse(pictureMeta(toStoredMedia(media))) as StoredPicture;
    }
    const convId = this.targetConversation(item.senderId, item.target, item.sentAt);
    if (convId === undefined) return { ok: false, code: 'not_found', message: 'no such conversation' };
    const { message, recipients } = picture
      ? this.appendMessage(convId, item.senderId, item.clientId, 'picture', item.text, picture, item.sentAt, positions)
      : this.appendMessage(convId, item.senderId, item.clientId, 'text', item.text, undefined, item.sentAt, positions);
    if (picture) this.s.markMediaSent.run(item.sentAt, picture.id);
    return { ok: true, kind: 'send', duplicate: false, message, recipients };
  }

  /** The conversation a send goes to, or undefined when the sender is not a current member. */
  private targetConversation(senderId: number, target: SendTarget, now: number): number | undefined {
    if (target.kind === 'user') return this.directConversation(senderId, target.userId, now);
    const m = this.s.membership.get(senderId, target.conversationId) as { left_seq: number | null } | undefined;
    return m && m.left_seq === null ? target.conversationId : undefined;
  }

  /**
   * Stores one message with the next seq and records it as a change for every
   * current member (`extra` users too: a removed member gets their removal).
   */
  private appendMessage(
    convId: number, senderId: number, clientId: string, kind: StoredMessage['kind'], text: string, attachment: SystemEvent | StoredPicture | undefined,
    now: number, positions: PositionCounter, extra: number[] = [],
  ): { message: StoredMessage; recipients: Recipient[] } {
    const s = this.s;
    const seq = (s.convSeq.get(convId) as number) + 1;
    s.setConvSeq.run(seq, now, convId);
    const r = s.insertMessage.run(convId, seq, senderId, clientId, kind, text, attachment ? JSON.stringify(attachment) : null, now);
    const members = s.activeMemberIds.all(convId) as number[];
    const recipients: Recipient[] = [];
    for (const userId of extra.length ? [...new Set([...members, ...extra])] : members) {
      const pos = positions.take(userId);
      s.insertLog.run(userId, pos, convId, seq);
      if (userId === senderId) s.onOwnMessage.run(pos, seq, seq, userId, convId);
      else s.onNewMessage.run(pos, 1, userId, convId);
      recipients.push({ userId, pos });
    }
    const message: StoredMessage = {
      id: Number(r.lastInsertRowid), conversationId: convId, seq, senderId, sender: this.nameOf(senderId),
      clientId, kind, text, sentAt: now,
    };
    if (attachment && kind === 'system') message.system = attachment as SystemEvent;
    if (attachment && kind === 'picture') message.picture = attachment as StoredPicture;
    return { message, recipients };
  }

  private receiptOne(item: Extract<WriteItem, { kind: 'read' | 'delivered' }>, positions: PositionCounter): WriteOutcome {
    const s = this.s;
    const m = s.membership.get(item.userId, item.conversationId) as { read_seq: number; delivered_seq: number; left_seq: number | null } | undefined;
    if (!m) return { ok: false, code: 'not_found', message: 'no such conversation' };
    const visible = m.left_seq ?? (s.convSeq.get(item.conversationId) as number);
    if (item.seq > visible) return { ok: false, code: 'bad_request', message: `seq ${item.seq} is beyond the last message (${visible})` };
    const username = this.nameOf(item.userId);
    const unchanged = {
      ok: true as const, kind: item.kind, conversationId: item.conversationId, changed: false, self: undefined, others: [],
      receipt: { username, deliveredSeq: m.delivered_seq, readSeq: m.read_seq },
    };
    let self: Recipient | undefined;
    if (item.kind === 'read') {
      if (item.seq <= m.read_seq) return unchanged;
      const unread = s.countUnread.get(item.conversationId, item.seq, visible, item.userId) as number;
      s.setRead.run(item.seq, item.seq, unread, item.userId, item.conversationId);
      self = { userId: item.userId, pos: positions.take(item.userId) };
      s.setMembershipPos.run(self.pos, item.userId, item.conversationId);
    } else {
      if (item.seq <= m.delivered_seq) return unchanged;
      s.setDelivered.run(item.seq, item.userId, item.conversationId);
    }
    const others: Recipient[] = [];
    if (m.left_seq === null) {
      for (const userId of s.activeMemberIds.all(item.conversationId) as number[]) {
        if (userId === item.userId) continue;
        const pos = positions.take(userId);
        s.setMembershipPos.run(pos, userId, item.conversationId);
        others.push({ userId, pos });
      }
    }
    const readSeq = item.kind === 'read' ? item.seq : m.read_seq;
    const deliveredSeq = Math.max(m.delivered_seq, item.seq);
    return { ok: true, kind: item.kind, conversationId: item.conversationId, changed: true, self, others, receipt: { username, deliveredSeq, readSeq } };
  }

  private directConversation(a: number, b: number, now: number): number {
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    const cached = this.directIds.get(key) ?? this.createdDirect.get(key);
    if (cached !== undefined) return cached;
    let id = this.s.directByKey.get(key) as number | undefined;
    if (id !== undefined) {
      this.directIds.set(key, id);
      return id;
    }
    id = Number(this.s.insertConversation.run('direct', null, key, now, now).lastInsertRowid);
    this.s.insertMembership.run(a, id, 'member', now);
    if (b !== a) this.s.insertMembership.run(b, id, 'member', now);
    this.createdDirect.set(key, id);
    return id;
  }

  // ---------------------------------------------------------------- media

  async createMedia(media: StoredMedia): Promise<void> {
    this.s.insertMedia.run(...mediaValues(media));
  }

  async media(id: string): Promise<StoredMedia | undefined> {
    const row = this.s.mediaById.get(id) as MediaRow | undefined;
    return row && toStoredMedia(row);
  }

  async deleteUnsentMedia(createdBefore: number, limit: number): Promise<StoredMedia[]> {
    // The write lock orders this against sends: a send either committed first (sent_at is set) or finds nothing.
    return this.db.transaction(() => {
      const rows = this.s.unsentMedia.all(createdBefore, limit) as MediaRow[];
      for (const r of rows) this.s.deleteMedia.run(r.id);
      return rows.map(toStoredMedia);
    }).immediate();
  }

  async mediaKeysInUse(keys: string[]): Promise<Set<string>> {
    return new Set(keys.filter((k) => this.s.mediaKeyUsed.get(k, k) === 1));
  }

  // ---------------------------------------------------------------- groups

  async createGroup(creatorId: number, title: string, memberIds: number[], maxMembers: number, now: number): Promise<GroupOutcome> {
    const members = [...new Set(memberIds.filter((id) => id !== creatorId))];
    if (members.length + 1 > maxMembers) return { ok: false, code: 'too_large', message: `a group has at most ${maxMembers} members` };
    return this.db.transaction((): GroupOutcome => {
      const positions = new PositionCounter(this.s);
      const convId = Number(this.s.insertConversation.run('group', title, null, now, now).lastInsertRowid);
      this.s.insertMembership.run(creatorId, convId, 'admin', now);
      for (const id of members) this.s.insertMembership.run(id, convId, 'member', now);
      const event: SystemEvent = { event: 'created', actor: this.nameOf(creatorId), title, users: members.map((id) => this.nameOf(id)) };
      const r = this.appendMessage(convId, creatorId, `sys-${convId}-1`, 'system', systemText(event), event, now, positions);
      positions.flush();
      return { ok: true, conversationId: convId, ...r };
    }).immediate();
  }

  async changeGroup(actorId: number, convId: number, change: GroupChange, maxMembers: number, now: number): Promise<GroupOutcome> {
    return this.db.transaction((): GroupOutcome => {
      const s = this.s;
      const conv = s.conversation.get(convId) as { kind: string; last_seq: number } | undefined;
      const me = s.membership.get(actorId, convId) as { role: string; left_seq: number | null } | undefined;
      const active = s.activeMemberIds.all(convId) as number[];
      const plan = planGroupChange({ convKind: conv?.kind, actorId, actor: me, active, change, maxMembers, nameOf: (id) => this.nameOf(id) });
      if ('ok' in plan) return plan;
      const positions = new PositionCounter(s);
      const seq = conv!.last_seq + 1;
      const { event, leaving } = plan;
      for (const id of plan.added) s.insertMembership.run(id, convId, 'member', now);
      if (plan.title !== undefined) s.setTitle.run(plan.title, convId);
      if (leaving !== undefined) s.setLeft.run(seq, 0, leaving, convId);
      // The leaving user gets the system message as their last one in this conversation.
      const r = this.appendMessage(convId, actorId, `sys-${convId}-${seq}`, 'system', systemText(event), event, now, positions, leaving === undefined ? [] : [leaving]);
      if (leaving !== undefined) {
        // A group is never left without an admin.
        // The longest-standing member (ties by user id, as on PostgreSQL).
        const members = (s.activeMembers.all(convId) as { user_id: number; role: string }[]);
        if (members.length > 0 && !members.some((m) => m.role === 'admin')) {
          s.setRole.run('admin', s.firstMember.get(convId) as number, convId);
        }
      }
      positions.flush();
      return { ok: true, conversationId: convId, ...r };
    }).immediate();
  }

  // ---------------------------------------------------------------- reads

  async sync(userId: number, afterPos: number, limit: number): Promise<SyncPage> {
    // One read transaction: the log, the memberships and the user's position come from one snapshot.
    return this.db.transaction((): SyncPage => {
      const s = this.s;
      const current = (s.userPos.get(userId) as number | undefined) ?? 0;
      const rows = s.logPage.all(userId, afterPos, limit + 1) as (MessageRow & { pos: number })[];
      let upto = rows.length > limit ? rows[limit - 1]!.pos : current;
      const changed = s.changedPage.all(userId, afterPos, upto, limit + 1) as MembershipRow[];
      if (changed.length > limit) {
        upto = changed[limit - 1]!.pos;
        changed.length = limit;
      }
      const messages = rows.filter((r) => r.pos <= upto).map((r) => this.toMessage(r));
      const convs = new Map<number, StoredConversation>();
      for (const row of changed) convs.set(row.conv_id, this.view(row));
      for (const m of messages) {
        if (convs.has(m.conversationId)) continue;
        const row = s.membershipView.get(userId, m.conversationId) as MembershipRow | undefined;
        if (row) convs.set(m.conversationId, this.view(row));
      }
      const pos = Math.max(afterPos, upto);
      return { messages, conversations: [...convs.values()], pos, hasMore: pos < current };
    })();
  }

  async currentPos(userId: number): Promise<number> {
    return (this.s.userPos.get(userId) as number | undefined) ?? 0;
  }

  async history(userId: number, conversationId: number, before: number | undefined, limit: number) {
    const m = this.s.membership.get(userId, conversationId) as { left_seq: number | null } | undefined;
    if (!m) return undefined;
    const bound = Math.min(before ?? Number.MAX_SAFE_INTEGER, m.left_seq === null ? Number.MAX_SAFE_INTEGER : m.left_seq + 1);
    const rows = this.s.history.all(conversationId, bound, limit + 1) as MessageRow[];
    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    return { messages: rows.reverse().map((r) => this.toMessage(r)), hasMore };
  }

  async conversations(userId: number, sincePos: number | undefined, beforePos: number | undefined, limit: number): Promise<StoredConversation[]> {
    const rows = this.s.recent.all(userId, sincePos ?? -1, beforePos ?? Number.MAX_SAFE_INTEGER, limit) as MembershipRow[];
    return rows.map((r) => this.view(r));
  }

  async conversation(userId: number, conversationId: number): Promise<StoredConversation | undefined> {
    const row = this.s.membershipView.get(userId, conversationId) as MembershipRow | undefined;
    return row && this.view(row);
  }

  async activeMembers(userId: number, conversationId: number): Promise<number[] | undefined> {
    const members = this.s.activeMemberIds.all(conversationId) as number[];
    return members.includes(userId) ? members : undefined;
  }

  async contacts(userId: number): Promise<number[]> {
    return this.s.contacts.all(userId) as number[];
  }

  /** A membership row as its user sees the conversation. */
  private view(r: MembershipRow): StoredConversation {
    const lastSeq = visibleLastSeq(r);
    const last = lastSeq > 0 ? (this.s.messageBySeq.get(r.conv_id, lastSeq) as MessageRow | undefined) : undefined;
    const members = this.s.activeMembers.all(r.conv_id) as MemberRow[];
    return toStoredConversation(r, members, last && this.toMessage(last), this.nameOf(r.user_id));
  }

  private nameOf(userId: number): string {
    let name = this.names.get(userId);
    if (name === undefined) {
      name = (this.s.userName.get(userId) as string | undefined) ?? '?';
      this.names.set(userId, name);
    }
    return name;
  }

  private toMessage(r: MessageRow): StoredMessage {
    return toStoredMessage(r, this.nameOf(r.sender_id));
  }
}
