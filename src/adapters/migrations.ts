/**
 * The schema, as one list of migrations shared by every SQL adapter
 * (SQLite today, PostgreSQL next). Dialect differences are confined to the
 * helpers at the top. Never edit a migration that has shipped: add one.
 */
import { Kysely, Migrator, PostgresAdapter, sql, type CreateTableBuilder, type Migration } from 'kysely';

const isPg = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof PostgresAdapter;

/** Integer primary key: SQLite's rowid alias, or a PostgreSQL identity column. */
function withId<T extends string>(db: Kysely<unknown>, t: CreateTableBuilder<T, never>) {
  return isPg(db)
    ? t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    : t.addColumn('id', 'integer', (c) => c.primaryKey());
}
/** Clustered by primary key: SQLite WITHOUT ROWID; PostgreSQL has no equivalent and needs none. */
const clustered = (db: Kysely<unknown>) => (isPg(db) ? sql`` : sql`without rowid`);

export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await withId(db, db.schema.createTable('users'))
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_key', 'text', (c) => c.notNull().unique())
        // Filled by password accounts (AUTH_MODE=password); null for open log in.
        .addColumn('password_hash', 'text')
        // The user's change position: +1 per change that concerns them, under this row's lock.
        .addColumn('pos', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db, db.schema.createTable('devices'))
        .addColumn('user_id', 'bigint', (c) => c.notNull())
        // sha256 of the session token; the token itself is never stored.
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('devices_user').on('devices').column('user_id').execute();

      await withId(db, db.schema.createTable('conversations'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        // "<lowId>:<highId>" for direct conversations: one per pair of users.
        .addColumn('direct_key', 'text', (c) => c.unique())
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema.createTable('memberships')
        .addColumn('user_id', 'bigint', (c) => c.notNull())
        .addColumn('conv_id', 'bigint', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().defaultTo('member'))
        // The user's position when this conversation last changed for them.
        .addColumn('pos', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['user_id', 'conv_id'])
        .modifyEnd(clustered(db))
        .execute();
      await db.schema.createIndex('memberships_user_pos').on('memberships').columns(['user_id', 'pos']).execute();
      await db.schema.createIndex('memberships_conv').on('memberships').column('conv_id').execute();

      await withId(db, db.schema.createTable('messages'))
        .addColumn('conv_id', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('sender_id', 'bigint', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('messages_conv_seq', ['conv_id', 'seq'])
        .addUniqueConstraint('messages_sender_client', ['sender_id', 'client_id'])
        .execute();

      // One row per change per user: what a device that is behind must fetch.
      await db.schema.createTable('user_log')
        .addColumn('user_id', 'bigint', (c) => c.notNull())
        .addColumn('pos', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('conv_id', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_log_pk', ['user_id', 'pos'])
        .modifyEnd(clustered(db))
        .execute();
    },
  },
};

migrations['0002_groups_receipts'] = {
  async up(db: Kysely<unknown>) {
    // Set when the user left or was removed: the seq of that system message.
    // They see history up to it and receive nothing after.
    await db.schema.alterTable('memberships').addColumn('left_seq', 'bigint').execute();
    await db.schema.alterTable('memberships').addColumn('delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    // Messages from others after read_seq; kept by every write so that the
    // home screen never counts messages.
    await db.schema.alterTable('memberships').addColumn('unread', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('users').addColumn('last_active_at', 'bigint').execute();
    // Readable summary of system messages is in body; the event itself here (JSON).
    await db.schema.alterTable('messages').addColumn('meta', 'text').execute();
  },
};

migrations['0003_accounts'] = {
  async up(db: Kysely<unknown>) {
    // A label the client gives its device at log in, shown in the device list.
    await db.schema.alterTable('devices').addColumn('name', 'text').execute();
  },
};

migrations['0004_media'] = {
  async up(db: Kysely<unknown>) {
    // One row per upload. The bytes are in the MediaStore under blob_key and
    // thumb_key (content-addressed: several rows may share a key).
    await db.schema.createTable('media')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('uploader_id', 'bigint', (c) => c.notNull())
      .addColumn('blob_key', 'text', (c) => c.notNull())
      .addColumn('mime', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('width', 'integer', (c) => c.notNull())
      .addColumn('height', 'integer', (c) => c.notNull())
      .addColumn('thumb_key', 'text', (c) => c.notNull())
      .addColumn('thumb_width', 'integer', (c) => c.notNull())
      .addColumn('thumb_height', 'integer', (c) => c.notNull())
      .addColumn('placeholder', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      // First sent in a message; null while unsent. Unsent uploads expire.
      .addColumn('sent_at', 'bigint')
      .execute();
    // The sweep of expired unsent uploads, and "is this blob still used" before a blob is deleted.
    await db.schema.createIndex('media_unsent').on('media').columns(['sent_at', 'created_at']).execute();
    await db.schema.createIndex('media_blob').on('media').column('blob_key').execute();
    await db.schema.createIndex('media_thumb').on('media').column('thumb_key').execute();
    // Picture messages keep their picture (id, size, placeholder) as JSON in messages.meta, like system events.
  },
};

export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
