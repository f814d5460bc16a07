/**
 * Account queries shared by the SQLite and PostgreSQL adapters: passwords,
 * devices and their tokens. They are not on the message path, so they go
 * through Kysely with SQL both databases accept, written once.
 */
import { sql, type Kysely } from 'kysely';
import type { StoredAccount, StoredDevice, StoredDeviceInfo, StoredUser } from '../ports/store.js';

type DeviceRow = { id: number; name: string | null; created_at: number; last_seen_at: number; expires_at: number | null };

export class AccountQueries {
  constructor(private readonly db: Kysely<unknown>) {}

  private async rows<T>(q: ReturnType<typeof sql>): Promise<T[]> {
    return (await q.execute(this.db)).rows as T[];
  }

  /** A new user with a password hash; undefined when the username (in any case) is taken. */
  async createUser(username: string, passwordHash: string, now: number): Promise<StoredUser | undefined> {
    const [row] = await this.rows<{ id: number }>(sql`
      INSERT INTO users (username, username_key, password_hash, pos, created_at) VALUES (${username}, ${username.toLowerCase()}, ${passwordHash}, 0, ${now})
      ON CONFLICT (username_key) DO NOTHING RETURNING id`);
    return row && { id: Number(row.id), username };
  }

  async account(username: string): Promise<StoredAccount | undefined> {
    const [row] = await this.rows<{ id: number; username: string; password_hash: string | null }>(
      sql`SELECT id, username, password_hash FROM users WHERE username_key = ${username.toLowerCase()}`);
    return row && { id: Number(row.id), username: row.username, passwordHash: row.password_hash };
  }

  async passwordHash(userId: number): Promise<string | null> {
    const [row] = await this.rows<{ password_hash: string | null }>(sql`SELECT password_hash FROM users WHERE id = ${userId}`);
    return row?.password_hash ?? null;
  }

  async setPasswordHash(userId: number, hash: string): Promise<void> {
    await sql`UPDATE users SET password_hash = ${hash} WHERE id = ${userId}`.execute(this.db);
  }

  async createDevice(userId: number, tokenHash: string, now: number, expiresAt: number, name: string | undefined): Promise<StoredDevice> {
    const [row] = await this.rows<{ id: number }>(sql`
      INSERT INTO devices (user_id, token_hash, created_at, last_seen_at, expires_at, name)
      VALUES (${userId}, ${tokenHash}, ${now}, ${now}, ${expiresAt}, ${name ?? null}) RETURNING id`);
    return { id: Number(row!.id), userId };
  }

  async findDevice(tokenHash: string, now: number): Promise<{ device: StoredDevice; user: StoredUser; expiresAt: number | null } | undefined> {
    const [row] = await this.rows<{ id: number; user_id: number; username: string; expires_at: number | null }>(sql`
      SELECT d.id, d.user_id, u.username, d.expires_at FROM devices d JOIN users u ON u.id = d.user_id
      WHERE d.token_hash = ${tokenHash} AND d.revoked_at IS NULL AND (d.expires_at IS NULL OR d.expires_at > ${now})`);
    if (!row) return undefined;
    const userId = Number(row.user_id);
    return { device: { id: Number(row.id), userId }, user: { id: userId, username: row.username }, expiresAt: row.expires_at === null ? null : Number(row.expires_at) };
  }

  async touchDevice(deviceId: number, now: number, expiresAt: number): Promise<void> {
    await sql`UPDATE devices SET last_seen_at = ${now}, expires_at = ${expiresAt} WHERE id = ${deviceId}`.execute(this.db);
  }

  async devices(userId: number, now: number): Promise<StoredDeviceInfo[]> {
    const rows = await this.rows<DeviceRow>(sql`
      SELECT id, name, created_at, last_seen_at, expires_at FROM devices
      WHERE user_id = ${userId} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})
      ORDER BY last_seen_at DESC, id DESC`);
    return rows.map((r) => ({
      id: Number(r.id), name: r.name, createdAt: Number(r.created_at), lastSeenAt: Number(r.last_seen_at),
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    }));
  }

  /** Revokes the user's devices in `ids` (all but `keep` when ids is 'others'); returns the ids revoked now. */
  async revoke(userId: number, ids: number[] | { allBut: number }, now: number): Promise<number[]> {
    const which = Array.isArray(ids)
      ? (ids.length ? sql`id IN (${sql.join(ids)})` : sql`1 = 0`)
      : sql`id <> ${ids.allBut}`;
    const rows = await this.rows<{ id: number }>(sql`
      UPDATE devices SET revoked_at = ${now} WHERE user_id = ${userId} AND revoked_at IS NULL AND ${which} RETURNING id`);
    return rows.map((r) => Number(r.id));
  }
}
