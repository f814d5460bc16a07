import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { AccountQueries, AccountStore } from './accounts.js';
import { migrateToLatest } from './migrations.js';
import type {
  GroupChange, GroupOutcome, Recipient, Store, StoredAccount, StoredConversation, StoredDevice, StoredDeviceInfo, StoredMedia, StoredMessage, StoredPicture, StoredUser,
  SyncPage, SystemEvent, WriteItem, WriteOutcome,
} from '../ports/store.js';
import { systemText } from './system-text.js';
import { planGroupChange } from './group-change.js';
import {
  MEDIA_COLUMNS as MEDIA_COLS, MEMBERSHIP_COLUMNS as MEMBERSHIP_COLS, MESSAGE_COLUMNS as MESSAGE_COLS, mediaValues, pictureMeta,
  toStoredConversation, toStoredMedia, toStoredMessage, visibleLastSeq,
  type MediaRow, type MemberRow, type MembershipRow, type MessageRow,
} from './rows.js';

type Db = Kysely<unknown>;
type Tx = Transaction<unknown>;

/** int8 and numeric as JavaScript numbers: every id, position and time here is below 2^53. */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const MESSAGE_COLUMNS = sql.raw(MESSAGE_COLS);
const MEMBERSHIP_COLUMNS = sql.raw(MEMBERSHIP_COLS);
const MEDIA_COLUMNS = sql.raw(MEDIA_COLS);

/** A change to one membership row, accumulated over a batch and written once. */
interface MembershipChange {
  userId: number; convId: number; pos: number | null; unreadDelta: number; readSeq: number | null; deliveredSeq: number | null; recount: boolean;
}

/**
 * PostgreSQL adapter: Kysely over a `pg` pool. A batch is one transaction of
 * a fixed number of round trips, whatever its size: it locks the
 * conversations it writes to (ascending id, for seqs) and then the users it
 * touches (ascending id, for positions), computes seqs and positions, and
 * writes messages, log rows and membership changes with set-based statements.
 * The fixed lock order keeps concurrent batches on several nodes free of
 * deadlocks.
 */
export class PostgresStore extends AccountStore implements Store {
  private readonly db: Db;
  private readonly names = new Map<number, string>();
  /** Direct conversations by key, once seen committed; saves a query per batch. */
  private readonly directIds = new Map<string, number>();

  constructor(url: string, opts: { poolSize?: number } = {}) {
    super();
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10, types });
    // An idle client that loses its server (a restart) must not crash the process.
    pool.on('error', () => {});
    this.db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    this.accounts = new AccountQueries(this.db);
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db);
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private async rows<T>(q: ReturnType<typeof sql>, db: Db | Tx = this.db): Promise<T[]> {
    return (await q.execute(db)).rows as T[];
  }

  // ---------------------------------------------------------------- accounts

  async upsertUser(username: string, now: number): Promise<StoredUser> {
    const key = username.toLowerCase();
    await sql`INSERT INTO users (username, username_key, pos, created_at) VALUES (${username}, ${key}, 0, ${now}) ON CONFLICT (username_key) DO NOTHING`.execute(this.db);
    const [row] = await this.rows<{ id: number; username: string }>(sql`SELECT id, username FROM users WHERE username_key = ${key}`);
    this.names.set(row!.id, row!.username);
    return { id: row!.id, username: row!.username };
  }

  async findUserByName(username: string): Promise<StoredUser | undefined> {
    const [row] = await this.rows<{ id: number; username: string }>(sql`SELECT id, username FROM users WHERE username_key = ${username.toLowerCase()}`);
    return row && { id: row.id, username: row.username };
  }


  async setLastActive(userId: number, at: number): Promise<void> {
    await sql`UPDATE users SET last_active_at = ${at} WHERE id = ${userId}`.execute(this.db);
  }

  async lastActive(userIds: number[]): Promise<Map<number, number>> {
    const rows = await this.rows<{ id: number; last_active_at: number | null }>(sql`SELECT id, last_active_at FROM users WHERE id = ANY(${userIds}::bigint[])`);
    return new Map(rows.filter((r) => r.last_active_at !== null).map((r) => [r.id, r.last_active_at!]));
  }

  async usernames(userIds: number[]): Promise<Map<number, string>> {
    await this.loadNames(userIds);
    return new Map(userIds.map((id) => [id, this.names.get(id) ?? '?']));
  }

  private async loadNames(userIds: number[], db: Db | Tx = this.db): Promise<void> {
    const missing = [...new Set(userIds.filter((id) => !this.names.has(id)))];
    if (missing.length === 0) return;
    for (const r of await this.rows<{ id: number; username: string }>(sql`SELECT id, username FROM users WHERE id = ANY(${missing}::bigint[])`, db)) {
      this.names.set(r.id, r.username);
    }
  }

  // ---------------------------------------------------------------- writes

  async write(items: WriteItem[]): Promise<WriteOutcome[]> {
    return this.db.transaction().execute((tx) => this.writeBatch(tx, items));
  }

  private async writeBatch(tx: Tx, items: WriteItem[]): Promise<WriteOutcome[]> {
    const out: (WriteOutcome | undefined)[] = new Array(items.length);
    const sends = items.map((it, i) => ({ it, i })).filter((x): x is { it: Extract<WriteItem, { kind: 'send' }>; i: number } => x.it.kind === 'send');

    // 1. Retries: a (sender, clientId) already stored returns the original.
    const seen = new Map<string, MessageRow>();
    if (sends.length > 0) {
      const dups = await this.rows<MessageRow>(sql`
        SELECT ${MESSAGE_COLUMNS} FROM messages m
        JOIN unnest(${sends.map((s) => s.it.senderId)}::bigint[], ${sends.map((s) => s.it.clientId)}::text[]) AS k(sender_id, client_id)
          ON m.sender_id = k.sender_id AND m.client_id = k.client_id`, tx);
      for (const d of dups) seen.set(`${d.sender_id}:${d.client_id}`, d);
    }

    // 1b. Pictures: lock the uploads being sent (before any other lock, in id order), so that the
    // sweep of unsent uploads either sees them sent or deletes them before this batch reads them.
    const mediaIds = [...new Set(sends.filter((s) => s.it.mediaId !== undefined).map((s) => s.it.mediaId!))].sort();
    const mediaRows = new Map<string, MediaRow>();
    if (mediaIds.length > 0) {
      for (const r of await this.rows<MediaRow>(sql`SELECT ${MEDIA_COLUMNS} FROM media WHERE id = ANY(${mediaIds}::text[]) ORDER BY id FOR UPDATE`, tx)) {
        mediaRows.set(r.id, r);
      }
    }

    // 2. Direct conversations, created on first use (concurrent creators meet at the unique key).
    const directKeys = new Map<string, [number, number]>();
    for (const { it } of sends) {
      if (it.target.kind !== 'user') continue;
      const [a, b] = it.senderId < it.target.userId ? [it.senderId, it.target.userId] : [it.target.userId, it.senderId];
      directKeys.set(`${a}:${b}`, [a, b]);
    }
    const directIds = await this.directConversations(tx, directKeys, sends[0]?.it.sentAt ?? 0);

    // 3. Lock the conversations written to, then every user whose position moves, in ascending order.
    const convOf = (it: WriteItem): number => {
      if (it.kind !== 'send') return it.conversationId;
      if (it.target.kind === 'conversation') return it.target.conversationId;
      const [a, b] = it.senderId < it.target.userId ? [it.senderId, it.target.userId] : [it.target.userId, it.senderId];
      return directIds.get(`${a}:${b}`)!;
    };
    const convIds = [...new Set(items.map(convOf))].sort((a, b) => a - b);
    const convRows = await this.rows<{ id: number; last_seq: number }>(sql`
      SELECT id, last_seq FROM conversations WHERE id = ANY(${convIds}::bigint[]) ORDER BY id FOR UPDATE`, tx);
    const lastSeq = new Map(convRows.map((r) => [r.id, r.last_seq]));
    const memberRows = await this.rows<{ conv_id: number; user_id: number; read_seq: number; delivered_seq: number; left_seq: number | null }>(sql`
      SELECT conv_id, user_id, read_seq, delivered_seq, left_seq FROM memberships WHERE conv_id = ANY(${convIds}::bigint[])`, tx);
    const members = new Map<number, typeof memberRows>();
    for (const r of memberRows) {
      let list = members.get(r.conv_id);
      if (!list) members.set(r.conv_id, (list = []));
      list.push(r);
    }
    // Every user whose position may move: current members, and readers (a removed member's read moves their own position).
    const readers = items.filter((it) => it.kind === 'read').map((it) => (it as { userId: number }).userId);
    const userIds = [...new Set([...memberRows.filter((r) => r.left_seq === null).map((r) => r.user_id), ...readers])].sort((a, b) => a - b);
    const posRows = await this.rows<{ id: number; pos: number }>(sql`SELECT id, pos FROM users WHERE id = ANY(${userIds}::bigint[]) ORDER BY id FOR UPDATE`, tx);
    const userPos = new Map(posRows.map((r) => [r.id, r.pos]));
    const firstPos = new Map(userPos);
    await this.loadNames([...userIds, ...sends.map((s) => s.it.senderId)], tx);
    const takePos = (userId: number) => {
      const p = userPos.get(userId)! + 1;
      userPos.set(userId, p);
      return p;
    };

    // 4. Compute seqs, positions and membership changes in memory.
    const newMessages: {
      i: number; convId: number; seq: number; senderId: number; clientId: string; text: string; at: number; recipients: Recipient[]; picture: string | null;
    }[] = [];
    const log: { userId: number; pos: number; convId: number; seq: number }[] = [];
    const changes = new Map<string, MembershipChange>();
    const firstInBatch = new Map<string, number>();
    const repeats: { i: number; of: number }[] = [];
    const change = (userId: number, convId: number) => {
      const k = `${userId}:${convId}`;
      let c = changes.get(k);
      if (!c) changes.set(k, (c = { userId, convId, pos: null, unreadDelta: 0, readSeq: null, deliveredSeq: null, recount: false }));
      return c;
    };
    items.forEach((it, i) => {
      const convId = convOf(it);
      const rows = members.get(convId) ?? [];
      if (it.kind === 'send') {
        const sameBatch = firstInBatch.get(`${it.senderId}:${it.clientId}`);
        if (sameBatch !== undefined) {
          repeats.push({ i, of: sameBatch });
          return;
        }
        const dup = seen.get(`${it.senderId}:${it.clientId}`);
        if (dup) {
          out[i] = { ok: true, kind: 'send', duplicate: true, message: this.toMessage(dup) };
          return;
        }
        let picture: string | null = null;
        if (it.mediaId !== undefined) {
          // Only the uploader may send a picture; anyone else learns nothing about it.
          const media = mediaRows.get(it.mediaId);
          if (!media || media.uploader_id !== it.senderId) {
            out[i] = { ok: false, code: 'not_found', message: 'no such picture' };
            return;
          }
          picture = pictureMeta(toStoredMedia(media));
        }
        const me = rows.find((r) => r.user_id === it.senderId);
        if (!me || me.left_seq !== null) {
          out[i] = { ok: false, code: 'not_found', message: 'no such conversation' };
          return;
        }
        const seq = lastSeq.get(convId)! + 1;
        lastSeq.set(convId, seq);
        const recipients: Recipient[] = [];
        for (const r of rows) {
          if (r.left_seq !== null) continue;
          const pos = takePos(r.user_id);
          recipients.push({ userId: r.user_id, pos });
          log.push({ userId: r.user_id, pos, convId, seq });
          const c = change(r.user_id, convId);
          c.pos = pos;
          if (r.user_id === it.senderId) {
            c.readSeq = seq;
            c.deliveredSeq = Math.max(c.deliveredSeq ?? 0, seq);
            c.unreadDelta = 0;
            c.recount = false;
            r.read_seq = seq;
          } else {
            c.unreadDelta++;
          }
        }
        // A retry later in this same batch gets this message.
        firstInBatch.set(`${it.senderId}:${it.clientId}`, i);
        newMessages.push({ i, convId, seq, senderId: it.senderId, clientId: it.clientId, text: it.text, at: it.sentAt, recipients, picture });
        return;
      }
      const m = rows.find((r) => r.user_id === it.userId);
      if (!m) {
        out[i] = { ok: false, code: 'not_found', message: 'no such conversation' };
        return;
      }
      const visible = m.left_seq ?? lastSeq.get(convId)!;
      if (it.seq > visible) {
        out[i] = { ok: false, code: 'bad_request', message: `seq ${it.seq} is beyond the last message (${visible})` };
        return;
      }
      const username = this.names.get(it.userId) ?? '?';
      const current = { username, deliveredSeq: m.delivered_seq, readSeq: m.read_seq };
      if (it.kind === 'read' ? it.seq <= m.read_seq : it.seq <= m.delivered_seq) {
        out[i] = { ok: true, kind: it.kind, conversationId: convId, changed: false, self: undefined, others: [], receipt: current };
        return;
      }
      let self: Recipient | undefined;
      const c = change(it.userId, convId);
      if (it.kind === 'read') {
        m.read_seq = it.seq;
        c.readSeq = it.seq;
        c.recount = true;
        self = { userId: it.userId, pos: takePos(it.userId) };
        c.pos = self.pos;
      }
      m.delivered_seq = Math.max(m.delivered_seq, it.seq);
      c.deliveredSeq = Math.max(c.deliveredSeq ?? 0, m.delivered_seq);
      const others: Recipient[] = [];
      if (m.left_seq === null) {
        for (const r of rows) {
          if (r.user_id === it.userId || r.left_seq !== null) continue;
          const pos = takePos(r.user_id);
          change(r.user_id, convId).pos = pos;
          others.push({ userId: r.user_id, pos });
        }
      }
      out[i] = { ok: true, kind: it.kind, conversationId: convId, changed: true, self, others, receipt: { username, deliveredSeq: m.delivered_seq, readSeq: m.read_seq } };
    });

    // 5. Write it all with set-based statements.
    if (newMessages.length > 0) {
      const ids = await this.rows<{ id: number; conv_id: number; seq: number }>(sql`
        INSERT INTO messages (conv_id, seq, sender_id, client_id, kind, body, meta, created_at)
        SELECT c, s, u, k, CASE WHEN p IS NULL THEN 'text' ELSE 'picture' END, b, p, t FROM unnest(
          ${newMessages.map((m) => m.convId)}::bigint[], ${newMessages.map((m) => m.seq)}::bigint[], ${newMessages.map((m) => m.senderId)}::bigint[],
          ${newMessages.map((m) => m.clientId)}::text[], ${newMessages.map((m) => m.text)}::text[], ${newMessages.map((m) => m.at)}::bigint[],
          ${newMessages.map((m) => m.picture)}::text[]
        ) AS v(c, s, u, k, b, t, p)
        RETURNING id, conv_id, seq`, tx);
      const idOf = new Map(ids.map((r) => [`${r.conv_id}:${r.seq}`, r.id]));
      for (const m of newMessages) {
        const message: StoredMessage = {
          id: idOf.get(`${m.convId}:${m.seq}`)!, conversationId: m.convId, seq: m.seq, senderId: m.senderId, sender: this.names.get(m.senderId) ?? '?',
          clientId: m.clientId, kind: m.picture === null ? 'text' : 'picture', text: m.text, sentAt: m.at,
        };
        if (m.picture !== null) message.picture = JSON.parse(m.picture) as StoredPicture;
        out[m.i] = { ok: true, kind: 'send', duplicate: false, recipients: m.recipients, message };
      }
      const sentPictures = newMessages.filter((m) => m.picture !== null);
      if (sentPictures.length > 0) {
        const ids = [...new Set(sentPictures.map((m) => (JSON.parse(m.picture!) as StoredPicture).id))];
        await sql`UPDATE media SET sent_at = ${sentPictures[0]!.at} WHERE id = ANY(${ids}::text[]) AND sent_at IS NULL`.execute(tx);
      }
      for (const r of repeats) {
        const first = out[r.of];
        if (first?.ok && first.kind === 'send') out[r.i] = { ok: true, kind: 'send', duplicate: true, message: first.message };
      }
      await this.insertLog(tx, log);
      const touched = [...new Set(newMessages.map((m) => m.convId))];
      await sql`
        UPDATE conversations c SET last_seq = v.s, updated_at = v.t
        FROM unnest(${touched}::bigint[], ${touched.map((id) => lastSeq.get(id)!)}::bigint[], ${touched.map(() => newMessages[newMessages.length - 1]!.at)}::bigint[]) AS v(id, s, t)
        WHERE c.id = v.id`.execute(tx);
    }
    await this.applyMembershipChanges(tx, [...changes.values()]);
    const moved = [...userPos].filter(([id, p]) => firstPos.get(id) !== p);
    if (moved.length > 0) {
      await sql`UPDATE users u SET pos = v.p FROM unnest(${moved.map((m) => m[0])}::bigint[], ${moved.map((m) => m[1])}::bigint[]) AS v(id, p) WHERE u.id = v.id`.execute(tx);
    }
    return out as WriteOutcome[];
  }

  private async directConversations(tx: Tx, keys: Map<string, [number, number]>, now: number): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const all: string[] = [];
    for (const k of keys.keys()) {
      const id = this.directIds.get(k);
      if (id === undefined) all.push(k);
      else found.set(k, id);
    }
    if (all.length === 0) return found;
    // Rows committed by earlier transactions (this one has inserted none yet): a pair's conversation never changes.
    for (const r of await this.rows<{ id: number; direct_key: string }>(sql`SELECT id, direct_key FROM conversations WHERE direct_key = ANY(${all}::text[])`, tx)) {
      found.set(r.direct_key, r.id);
      this.directIds.set(r.direct_key, r.id);
    }
    // Sorted: two batches creating the same conversations take the unique-key locks in the same order.
    const missing = all.filter((k) => !found.has(k)).sort();
    if (missing.length > 0) {
      const created = await this.rows<{ id: number; direct_key: string }>(sql`
        INSERT INTO conversations (kind, title, direct_key, last_seq, created_at, updated_at)
        SELECT 'direct', NULL, k, 0, ${now}, ${now} FROM unnest(${missing}::text[]) AS k
        ON CONFLICT (direct_key) DO NOTHING RETURNING id, direct_key`, tx);
      for (const r of created) {
        const [a, b] = keys.get(r.direct_key)!;
        const users = a === b ? [a] : [a, b];
        await sql`INSERT INTO memberships (user_id, conv_id, role, pos, joined_at) SELECT u, ${r.id}, 'member', 0, ${now} FROM unnest(${users}::bigint[]) AS u ON CONFLICT DO NOTHING`.execute(tx);
        found.set(r.direct_key, r.id);
      }
      // Created concurrently by another node: its row is committed (the unique key waited for it).
      const late = missing.filter((k) => !found.has(k));
      if (late.length > 0) {
        for (const r of await this.rows<{ id: number; direct_key: string }>(sql`SELECT id, direct_key FROM conversations WHERE direct_key = ANY(${late}::text[])`, tx)) found.set(r.direct_key, r.id);
      }
    }
    return found;
  }

  private async insertLog(tx: Tx, log: { userId: number; pos: number; convId: number; seq: number }[]): Promise<void> {
    if (log.length === 0) return;
    await sql`
      INSERT INTO user_log (user_id, pos, kind, conv_id, seq)
      SELECT u, p, 'message', c, s FROM unnest(${log.map((l) => l.userId)}::bigint[], ${log.map((l) => l.pos)}::bigint[], ${log.map((l) => l.convId)}::bigint[], ${log.map((l) => l.seq)}::bigint[]) AS v(u, p, c, s)`.execute(tx);
  }

  private async applyMembershipChanges(tx: Tx, changes: MembershipChange[]): Promise<void> {
    if (changes.length === 0) return;
    const col = <K extends keyof MembershipChange>(k: K) => changes.map((c) => c[k]);
    await sql`
      UPDATE memberships mb SET
        pos = COALESCE(v.pos, mb.pos),
        read_seq = COALESCE(v.read_seq, mb.read_seq),
        delivered_seq = GREATEST(mb.delivered_seq, COALESCE(v.delivered_seq, 0)),
        unread = CASE
          WHEN v.read_seq IS NOT NULL AND NOT v.recount THEN 0
          WHEN v.recount THEN (SELECT count(*) FROM messages m WHERE m.conv_id = mb.conv_id AND m.seq > v.read_seq
                                 AND m.seq <= COALESCE(mb.left_seq, ${Number.MAX_SAFE_INTEGER}) AND m.sender_id <> mb.user_id)
          ELSE mb.unread + v.unread END
      FROM unnest(
        ${col('userId')}::bigint[], ${col('convId')}::bigint[], ${col('pos')}::bigint[], ${col('unreadDelta')}::bigint[],
        ${col('readSeq')}::bigint[], ${col('deliveredSeq')}::bigint[], ${col('recount')}::boolean[]
      ) AS v(user_id, conv_id, pos, unread, read_seq, delivered_seq, recount)
      WHERE mb.user_id = v.user_id AND mb.conv_id = v.conv_id`.execute(tx);
  }

  // ---------------------------------------------------------------- media

  async createMedia(media: StoredMedia): Promise<void> {
    const v = mediaValues(media);
    await sql`INSERT INTO media (${MEDIA_COLUMNS}) VALUES (${sql.join(v.map((x) => sql`${x}`))})`.execute(this.db);
  }

  async media(id: string): Promise<StoredMedia | undefined> {
    const [row] = await this.rows<MediaRow>(sql`SELECT ${MEDIA_COLUMNS} FROM media WHERE id = ${id}`);
    return row && toStoredMedia(row);
  }

  async deleteUnsentMedia(createdBefore: number, limit: number): Promise<StoredMedia[]> {
    // Uploads locked by a batch that is sending them are skipped (not waited for): that batch marks them sent.
    const rows = await this.rows<MediaRow>(sql`
      DELETE FROM media WHERE id IN (
        SELECT id FROM media WHERE sent_at IS NULL AND created_at < ${createdBefore} ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING ${MEDIA_COLUMNS}`);
    return rows.map(toStoredMedia);
  }

  async mediaKeysInUse(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.rows<{ k: string }>(sql`
      SELECT blob_key AS k FROM media WHERE blob_key = ANY(${keys}::text[])
      UNION SELECT thumb_key FROM media WHERE thumb_key = ANY(${keys}::text[])`);
    return new Set(rows.map((r) => r.k));
  }

  // ---------------------------------------------------------------- groups

  async createGroup(creatorId: number, title: string, memberIds: number[], maxMembers: number, now: number): Promise<GroupOutcome> {
    const others = [...new Set(memberIds.filter((id) => id !== creatorId))];
    if (others.length + 1 > maxMembers) return { ok: false, code: 'too_large', message: `a group has at most ${maxMembers} members` };
    return this.db.transaction().execute(async (tx) => {
      const [conv] = await this.rows<{ id: number }>(sql`INSERT INTO conversations (kind, title, last_seq, created_at, updated_at) VALUES ('group', ${title}, 0, ${now}, ${now}) RETURNING id`, tx);
      const convId = conv!.id;
      await sql`INSERT INTO memberships (user_id, conv_id, role, pos, joined_at) VALUES (${creatorId}, ${convId}, 'admin', 0, ${now})`.execute(tx);
      if (others.length > 0) await sql`INSERT INTO memberships (user_id, conv_id, role, pos, joined_at) SELECT u, ${convId}, 'member', 0, ${now} FROM unnest(${others}::bigint[]) AS u`.execute(tx);
      await this.loadNames([creatorId, ...others], tx);
      const event: SystemEvent = { event: 'created', actor: this.names.get(creatorId)!, title, users: others.map((id) => this.names.get(id)!) };
      const r = await this.appendSystem(tx, convId, creatorId, event, now, []);
      return { ok: true as const, conversationId: convId, ...r };
    });
  }

  async changeGroup(actorId: number, convId: number, change: GroupChange, maxMembers: number, now: number): Promise<GroupOutcome> {
    return this.db.transaction().execute(async (tx): Promise<GroupOutcome> => {
      const [conv] = await this.rows<{ kind: string }>(sql`SELECT kind FROM conversations WHERE id = ${convId} FOR UPDATE`, tx);
      const [me] = await this.rows<{ role: string; left_seq: number | null }>(sql`SELECT role, left_seq FROM memberships WHERE user_id = ${actorId} AND conv_id = ${convId}`, tx);
      const active = conv ? (await this.rows<{ user_id: number }>(sql`SELECT user_id FROM memberships WHERE conv_id = ${convId} AND left_seq IS NULL`, tx)).map((r) => r.user_id) : [];
      await this.loadNames([actorId, ...active, ...(change.op === 'add' ? change.userIds : change.op === 'remove' ? [change.userId] : [])], tx);
      const plan = planGroupChange({ convKind: conv?.kind, actorId, actor: me, active, change, maxMembers, nameOf: (id) => this.names.get(id) ?? '?' });
      if ('ok' in plan) return plan;
      const { event, leaving } = plan;
      if (plan.added.length > 0) {
        await sql`INSERT INTO memberships (user_id, conv_id, role, pos, joined_at) SELECT u, ${convId}, 'member', 0, ${now} FROM unnest(${plan.added}::bigint[]) AS u
                  ON CONFLICT (user_id, conv_id) DO UPDATE SET left_seq = NULL, role = 'member'`.execute(tx);
      }
      if (plan.title !== undefined) await sql`UPDATE conversations SET title = ${plan.title} WHERE id = ${convId}`.execute(tx);
      const r = await this.appendSystem(tx, convId, actorId, event, now, leaving === undefined ? [] : [leaving]);
      if (leaving !== undefined) {
        await sql`UPDATE memberships SET left_seq = ${r.message.seq}, role = 'member' WHERE user_id = ${leaving} AND conv_id = ${convId}`.execute(tx);
        await sql`UPDATE memberships SET role = 'admin' WHERE conv_id = ${convId} AND user_id = (
                    SELECT user_id FROM memberships WHERE conv_id = ${convId} AND left_seq IS NULL ORDER BY joined_at, user_id LIMIT 1)
                  AND NOT EXISTS (SELECT 1 FROM memberships WHERE conv_id = ${convId} AND left_seq IS NULL AND role = 'admin')`.execute(tx);
      }
      return { ok: true, conversationId: convId, ...r };
    });
  }

  /** A system message, recorded for the current members and `extra` users (who are leaving). Runs in the caller's transaction. */
  private async appendSystem(tx: Tx, convId: number, actorId: number, event: SystemEvent, now: number, extra: number[]): Promise<{ message: StoredMessage; recipients: Recipient[] }> {
    const [conv] = await this.rows<{ last_seq: number }>(sql`UPDATE conversations SET last_seq = last_seq + 1, updated_at = ${now} WHERE id = ${convId} RETURNING last_seq`, tx);
    const seq = conv!.last_seq;
    const text = systemText(event);
    const clientId = `sys-${convId}-${seq}`;
    const [msg] = await this.rows<{ id: number }>(sql`
      INSERT INTO messages (conv_id, seq, sender_id, client_id, kind, body, meta, created_at)
      VALUES (${convId}, ${seq}, ${actorId}, ${clientId}, 'system', ${text}, ${JSON.stringify(event)}, ${now}) RETURNING id`, tx);
    const active = (await this.rows<{ user_id: number }>(sql`SELECT user_id FROM memberships WHERE conv_id = ${convId} AND left_seq IS NULL`, tx)).map((r) => r.user_id);
    const users = [...new Set([...active, ...extra])].sort((a, b) => a - b);
    const positions = await this.rows<{ id: number; pos: number }>(sql`
      UPDATE users u SET pos = u.pos + 1 FROM (SELECT id FROM users WHERE id = ANY(${users}::bigint[]) ORDER BY id FOR UPDATE) AS l
      WHERE u.id = l.id RETURNING u.id, u.pos`, tx);
    const recipients = positions.map((p) => ({ userId: p.id, pos: p.pos }));
    await this.insertLog(tx, recipients.map((r) => ({ userId: r.userId, pos: r.pos, convId, seq })));
    await this.applyMembershipChanges(tx, recipients.map((r) => ({
      userId: r.userId, convId, pos: r.pos, unreadDelta: r.userId === actorId ? 0 : 1,
      readSeq: r.userId === actorId ? seq : null, deliveredSeq: r.userId === actorId ? seq : null, recount: false,
    })));
    const message: StoredMessage = {
      id: msg!.id, conversationId: convId, seq, senderId: actorId, sender: this.names.get(actorId) ?? '?', clientId, kind: 'system', text, system: event, sentAt: now,
    };
    return { message, recipients };
  }

  // ---------------------------------------------------------------- reads

  async sync(userId: number, afterPos: number, limit: number): Promise<SyncPage> {
    // One snapshot for the position, the log and the memberships.
    return this.db.transaction().setIsolationLevel('repeatable read').execute(async (tx) => {
      const [u] = await this.rows<{ pos: number }>(sql`SELECT pos FROM users WHERE id = ${userId}`, tx);
      const current = u?.pos ?? 0;
      const rows = await this.rows<MessageRow & { pos: number }>(sql`
        SELECT l.pos, ${MESSAGE_COLUMNS} FROM user_log l JOIN messages m ON m.conv_id = l.conv_id AND m.seq = l.seq
        WHERE l.user_id = ${userId} AND l.pos > ${afterPos} ORDER BY l.pos LIMIT ${limit + 1}`, tx);
      let upto = rows.length > limit ? rows[limit - 1]!.pos : current;
      const changed = await this.rows<MembershipRow>(sql`
        SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
        WHERE mb.user_id = ${userId} AND mb.pos > ${afterPos} AND mb.pos <= ${upto} ORDER BY mb.pos LIMIT ${limit + 1}`, tx);
      if (changed.length > limit) {
        upto = changed[limit - 1]!.pos;
        changed.length = limit;
      }
      const kept = rows.filter((r) => r.pos <= upto);
      await this.loadNames(kept.map((r) => r.sender_id), tx);
      const messages = kept.map((r) => this.toMessage(r));
      const convs = new Map<number, StoredConversation>();
      for (const row of changed) convs.set(row.conv_id, await this.view(row, tx));
      const extra = [...new Set(messages.map((m) => m.conversationId))].filter((id) => !convs.has(id));
      if (extra.length > 0) {
        const rowsExtra = await this.rows<MembershipRow>(sql`
          SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
          WHERE mb.user_id = ${userId} AND mb.conv_id = ANY(${extra}::bigint[])`, tx);
        for (const row of rowsExtra) convs.set(row.conv_id, await this.view(row, tx));
      }
      const pos = Math.max(afterPos, upto);
      return { messages, conversations: [...convs.values()], pos, hasMore: pos < current };
    });
  }

  async currentPos(userId: number): Promise<number> {
    const [u] = await this.rows<{ pos: number }>(sql`SELECT pos FROM users WHERE id = ${userId}`);
    return u?.pos ?? 0;
  }

  async history(userId: number, conversationId: number, before: number | undefined, limit: number) {
    const [m] = await this.rows<{ left_seq: number | null }>(sql`SELECT left_seq FROM memberships WHERE user_id = ${userId} AND conv_id = ${conversationId}`);
    if (!m) return undefined;
    const bound = Math.min(before ?? Number.MAX_SAFE_INTEGER, m.left_seq === null ? Number.MAX_SAFE_INTEGER : m.left_seq + 1);
    const rows = await this.rows<MessageRow>(sql`
      SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conv_id = ${conversationId} AND m.seq < ${bound} ORDER BY m.seq DESC LIMIT ${limit + 1}`);
    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    await this.loadNames(rows.map((r) => r.sender_id));
    return { messages: rows.reverse().map((r) => this.toMessage(r)), hasMore };
  }

  async conversations(userId: number, sincePos: number | undefined, beforePos: number | undefined, limit: number): Promise<StoredConversation[]> {
    const rows = await this.rows<MembershipRow>(sql`
      SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id
      WHERE mb.user_id = ${userId} AND mb.pos > ${sincePos ?? -1} AND mb.pos < ${beforePos ?? Number.MAX_SAFE_INTEGER}
      ORDER BY mb.pos DESC LIMIT ${limit}`);
    const out: StoredConversation[] = [];
    for (const r of rows) out.push(await this.view(r));
    return out;
  }

  async conversation(userId: number, conversationId: number): Promise<StoredConversation | undefined> {
    const [row] = await this.rows<MembershipRow>(sql`
      SELECT ${MEMBERSHIP_COLUMNS} FROM memberships mb JOIN conversations c ON c.id = mb.conv_id WHERE mb.user_id = ${userId} AND mb.conv_id = ${conversationId}`);
    return row && this.view(row);
  }

  async activeMembers(userId: number, conversationId: number): Promise<number[] | undefined> {
    const ids = (await this.rows<{ user_id: number }>(sql`SELECT user_id FROM memberships WHERE conv_id = ${conversationId} AND left_seq IS NULL`)).map((r) => r.user_id);
    return ids.includes(userId) ? ids : undefined;
  }

  async contacts(userId: number): Promise<number[]> {
    return (await this.rows<{ user_id: number }>(sql`
      SELECT DISTINCT b.user_id FROM memberships a JOIN memberships b ON b.conv_id = a.conv_id
      WHERE a.user_id = ${userId} AND a.left_seq IS NULL AND b.left_seq IS NULL AND b.user_id <> a.user_id`)).map((r) => r.user_id);
  }

  private async view(r: MembershipRow, db: Db | Tx = this.db): Promise<StoredConversation> {
    const lastSeq = visibleLastSeq(r);
    const [last] = lastSeq > 0 ? await this.rows<MessageRow>(sql`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conv_id = ${r.conv_id} AND m.seq = ${lastSeq}`, db) : [];
    const members = await this.rows<MemberRow>(sql`
      SELECT u.username, mb.user_id, mb.role, mb.read_seq, mb.delivered_seq FROM memberships mb JOIN users u ON u.id = mb.user_id
      WHERE mb.conv_id = ${r.conv_id} AND mb.left_seq IS NULL ORDER BY mb.joined_at, u.username_key`, db);
    for (const m of members) this.names.set(m.user_id, m.username);
    await this.loadNames(last ? [last.sender_id, r.user_id] : [r.user_id], db);
    return toStoredConversation(r, members, last && this.toMessage(last), this.names.get(r.user_id) ?? '?');
  }

  private toMessage(r: MessageRow): StoredMessage {
    return toStoredMessage(r, this.names.get(r.sender_id) ?? '?');
  }
}
