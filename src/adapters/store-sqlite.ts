import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from './migrations.js';
import type {
  AppendInput, AppendOutcome, Store, StoredConversation, StoredDevice, StoredMessage, StoredUser, SyncPage,
} from '../ports/store.js';

type Row = Record<string, unknown>;

interface MessageRow {
  id: number; conv_id: number; seq: number; sender_id: number; client_id: string; kind: string; body: string; created_at: number;
}

const MESSAGE_COLUMNS = 'm.id, m.conv_id, m.seq, m.sender_id, m.client_id, m.kind, m.body, m.created_at';

function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insertUser: p('INSERT INTO users (username, username_key, pos, created_at) VALUES (?, ?, 0, ?) ON CONFLICT (username_key) DO NOTHING'),
    userByKey: p('SELECT id, username FROM users WHERE username_key = ?'),
    userName: p('SELECT username FROM users WHERE id = ?').pluck(),
    userPos: p('SELECT pos FROM users WHERE id = ?').pluck(),
    setUserPos: p('UPDATE users SET pos = ? WHERE id = ?'),
    insertDevice: p('INSERT INTO devices (user_id, token_hash, created_at, last_seen_at) VALUES (?, ?, ?, ?)'),
    deviceByHash: p(`SELECT d.id, d.user_id, u.username FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = ? AND d.revoked_at IS NULL AND (d.expires_at IS NULL OR d.expires_at > ?)`),
    touchDevice: p('UPDATE devices SET last_seen_at = ? WHERE id = ?'),
    directByKey: p('SELECT id FROM conversations WHERE direct_key = ?').pluck(),
    insertConversation: p("INSERT INTO conversations (kind, direct_key, last_seq, created_at, updated_at) VALUES ('direct', ?, 0, ?, ?)"),
    insertMembership: p('INSERT INTO memberships (user_id, conv_id, pos, joined_at) VALUES (?, ?, 0, ?)'),
    convSeq: p('SELECT last_seq FROM conversations WHERE id = ?').pluck(),
    setConvSeq: p('UPDATE conversations SET last_seq = ?, updated_at = ? WHERE id = ?'),
    memberIds: p('SELECT user_id FROM memberships WHERE conv_id = ?').pluck(),
    memberNames: p('SELECT u.username FROM memberships mb JOIN users u ON u.id = mb.user_id WHERE mb.conv_id = ? ORDER BY u.username_key').pluck(),
    isMember: p('SELECT 1 FROM memberships WHERE user_id = ? AND conv_id = ?').pluck(),
    setMembershipPos: p('UPDATE memberships SET pos = ? WHERE user_id = ? AND conv_id = ?'),
    messageByClientId: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.sender_id = ? AND m.client_id = ?`),
    messageBySeq: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conv_id = ? AND m.seq = ?`),
    insertMessage: p('INSERT INTO messages (conv_id, seq, sender_id, client_id, kind, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insertLog: p("INSERT INTO user_log (user_id, pos, kind, conv_id, seq) VALUES (?, ?, 'message', ?, ?)"),
    syncPage: p(`SELECT l.pos, ${MESSAGE_COLUMNS} FROM user_log l JOIN messages m ON m.conv_id = l.conv_id AND m.seq = l.seq
                 WHERE l.user_id = ? AND l.pos > ? ORDER BY l.pos LIMIT ?`),
    history: p(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conv_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`),
    convForUser: p(`SELECT c.id, c.kind, c.last_seq, c.updated_at, mb.pos FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
                    WHERE mb.user_id = ? AND mb.conv_id = ?`),
    recentConvs: p(`SELECT c.id, c.kind, c.last_seq, c.updated_at, mb.pos FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
                    WHERE mb.user_id = ? AND mb.pos < ? ORDER BY mb.pos DESC LIMIT ?`),
    ping: p('SELECT 1').pluck(),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/**
 * SQLite adapter. The schema comes from the shared Kysely migrations; queries
 * are prepared better-sqlite3 statements, and a batch of sends is one
 * synchronous IMMEDIATE transaction (several processes may share the file:
 * the write lock then plays the role of the row locks in the Store contract).
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly names = new Map<number, string>();
  private readonly directIds = new Map<string, number>();
  private s!: Statements;

  constructor(path: string, opts: { synchronous?: 'full' | 'normal' } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
  }

  async migrate(): Promise<void> {
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: this.db }) });
    await migrateToLatest(kysely);
    // Not destroyed: that would close the shared better-sqlite3 handle.
    this.s = prepareStatements(this.db);
  }

  async ping(): Promise<void> {
    this.s.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

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

  async createDevice(userId: number, tokenHash: string, now: number): Promise<StoredDevice> {
    const r = this.s.insertDevice.run(userId, tokenHash, now, now);
    return { id: Number(r.lastInsertRowid), userId };
  }

  async findDevice(tokenHash: string, now: number): Promise<{ device: StoredDevice; user: StoredUser } | undefined> {
    const row = this.s.deviceByHash.get(tokenHash, now) as { id: number; user_id: number; username: string } | undefined;
    if (!row) return undefined;
    return { device: { id: row.id, userId: row.user_id }, user: { id: row.user_id, username: row.username } };
  }

  async touchDevice(deviceId: number, now: number): Promise<void> {
    this.s.touchDevice.run(now, deviceId);
  }

  async appendMessages(items: AppendInput[]): Promise<AppendOutcome[]> {
    return this.db.transaction(() => this.appendInTransaction(items)).immediate();
  }

  private appendInTransaction(items: AppendInput[]): AppendOutcome[] {
    const s = this.s;
    // Positions and seqs are read once per batch and written back once at the end:
    // the IMMEDIATE transaction holds the write lock throughout.
    const userPos = new Map<number, number>();
    const convSeq = new Map<number, number>();
    const convMembers = new Map<number, number[]>();
    const membershipPos = new Map<string, [number, number, number]>();
    let now = 0;
    const out: AppendOutcome[] = [];

    for (const item of items) {
      const dup = s.messageByClientId.get(item.senderId, item.clientId) as MessageRow | undefined;
      if (dup) {
        out.push({ ok: true, duplicate: true, message: this.toMessage(dup) });
        continue;
      }
      let convId: number;
      if (item.target.kind === 'user') {
        convId = this.directConversation(item.senderId, item.target.userId, item.sentAt);
      } else {
        convId = item.target.conversationId;
        if (!s.isMember.get(item.senderId, convId)) {
          out.push({ ok: false, code: 'not_found' });
          continue;
        }
      }
      let members = convMembers.get(convId);
      if (!members) convMembers.set(convId, (members = s.memberIds.all(convId) as number[]));
      const seq = (convSeq.get(convId) ?? (s.convSeq.get(convId) as number)) + 1;
      convSeq.set(convId, seq);
      now = Math.max(now, item.sentAt);
      const r = s.insertMessage.run(convId, seq, item.senderId, item.clientId, 'text', item.text, item.sentAt);
      const recipients: { userId: number; pos: number }[] = [];
      for (const userId of members) {
        const pos = (userPos.get(userId) ?? (s.userPos.get(userId) as number)) + 1;
        userPos.set(userId, pos);
        s.insertLog.run(userId, pos, convId, seq);
        membershipPos.set(`${userId}:${convId}`, [pos, userId, convId]);
        recipients.push({ userId, pos });
      }
      out.push({
        ok: true,
        duplicate: false,
        message: {
          id: Number(r.lastInsertRowid), conversationId: convId, seq, senderId: item.senderId, sender: this.nameOf(item.senderId),
          clientId: item.clientId, kind: 'text', text: item.text, sentAt: item.sentAt,
        },
        recipients,
      });
    }
    for (const [userId, pos] of userPos) s.setUserPos.run(pos, userId);
    for (const [convId, seq] of convSeq) s.setConvSeq.run(seq, now, convId);
    for (const [pos, userId, convId] of membershipPos.values()) s.setMembershipPos.run(pos, userId, convId);
    return out;
  }

  private directConversation(a: number, b: number, now: number): number {
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    const cached = this.directIds.get(key);
    if (cached !== undefined) return cached;
    let id = this.s.directByKey.get(key) as number | undefined;
    if (id === undefined) {
      id = Number(this.s.insertConversation.run(key, now, now).lastInsertRowid);
      this.s.insertMembership.run(a, id, now);
      if (b !== a) this.s.insertMembership.run(b, id, now);
    }
    this.directIds.set(key, id);
    return id;
  }

  async sync(userId: number, afterPos: number, limit: number): Promise<SyncPage> {
    const rows = this.s.syncPage.all(userId, afterPos, limit + 1) as (MessageRow & { pos: number })[];
    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    const messages = rows.map((r) => this.toMessage(r));
    const convIds = [...new Set(messages.map((m) => m.conversationId))];
    const conversations = convIds.map((id) => this.conversationFor(userId, id)).filter((c): c is StoredConversation => !!c);
    const pos = rows.length > 0 ? rows[rows.length - 1]!.pos : Math.max(afterPos, 0);
    return { messages, conversations, pos, hasMore };
  }

  async currentPos(userId: number): Promise<number> {
    return (this.s.userPos.get(userId) as number | undefined) ?? 0;
  }

  async history(userId: number, conversationId: number, before: number | undefined, limit: number) {
    if (!this.s.isMember.get(userId, conversationId)) return undefined;
    const rows = this.s.history.all(conversationId, before ?? Number.MAX_SAFE_INTEGER, limit + 1) as MessageRow[];
    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    return { messages: rows.reverse().map((r) => this.toMessage(r)), hasMore };
  }

  async conversations(userId: number, beforePos: number | undefined, limit: number): Promise<StoredConversation[]> {
    const rows = this.s.recentConvs.all(userId, beforePos ?? Number.MAX_SAFE_INTEGER, limit) as Row[];
    return rows.map((r) => this.conversationFromRow(r));
  }

  private conversationFor(userId: number, convId: number): StoredConversation | undefined {
    const row = this.s.convForUser.get(userId, convId) as Row | undefined;
    return row && this.conversationFromRow(row);
  }

  private conversationFromRow(r: Row): StoredConversation {
    const id = r.id as number;
    const lastSeq = r.last_seq as number;
    const last = lastSeq > 0 ? (this.s.messageBySeq.get(id, lastSeq) as MessageRow | undefined) : undefined;
    return {
      id, kind: 'direct', members: this.s.memberNames.all(id) as string[], lastSeq,
      lastMessage: last && this.toMessage(last), updatedAt: r.updated_at as number, pos: r.pos as number,
    };
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
    return {
      id: r.id, conversationId: r.conv_id, seq: r.seq, senderId: r.sender_id, sender: this.nameOf(r.sender_id),
      clientId: r.client_id, kind: 'text', text: r.body, sentAt: r.created_at,
    };
  }
}
