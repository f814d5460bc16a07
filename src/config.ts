import { parseArgs } from 'node:util';

/**
 * Configuration: every setting has an environment variable and a matching
 * flag (`MAX_FRAME_BYTES` <-> `--max-frame-bytes`). Flags win over the
 * environment. Values are validated once at start-up; a bad value stops the
 * process with a sentence naming the setting. The result is frozen.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** `sqlite:<path>` (default `sqlite:./data/parley.db`), `sqlite::memory:`, or `postgres://...`. */
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  /** redis://host:port: cross-node bus and shared presence. Empty: one node, in-process. */
  readonly redisUrl: string;
  readonly presenceTtlMs: number;
  readonly sqliteSynchronous: 'full' | 'normal';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly nodeId: string;
  readonly maxFrameBytes: number;
  readonly maxMessageChars: number;
  readonly sendRatePerSec: number;
  readonly sendBurst: number;
  readonly maxConnectionsPerUser: number;
  readonly pageSizeMax: number;
  readonly maxBufferedBytes: number;
  readonly heartbeatMs: number;
  readonly maxGroupMembers: number;
  readonly typingRatePerSec: number;
  readonly typingTtlMs: number;
  readonly presenceThrottleMs: number;
  readonly drainWindowMs: number;
  readonly drainGraceMs: number;
  /** open: log in by username (a password only for accounts that set one); password: every account has a password. */
  readonly authMode: 'open' | 'password';
  readonly tokenTtlMs: number;
  /** Origins allowed for WebSocket upgrades and CORS, besides the server's own; ['*'] allows all. */
  readonly allowedOrigins: readonly string[];
  /** Take the client address from X-Forwarded-For (set by the load balancer); only when every request comes through it. */
  readonly trustProxy: boolean;
  readonly maxConnectionsPerAddress: number;
  readonly loginFailuresPerMin: number;
  readonly loginFailureBurst: number;
  readonly registrationsPerMin: number;
  /** Where picture bytes live: `disk` (MEDIA_DIR) or `s3` (an S3-compatible bucket). */
  readonly mediaStore: 'disk' | 's3';
  readonly mediaDir: string;
  readonly mediaS3Bucket: string;
  /** Empty: AWS's own endpoint for the region. */
  readonly mediaS3Endpoint: string;
  readonly mediaS3Region: string;
  readonly mediaS3ForcePathStyle: boolean;
  /** Both empty: the AWS SDK's standard credential sources (AWS_ACCESS_KEY_ID, ...). */
  readonly mediaS3AccessKeyId: string;
  readonly mediaS3SecretAccessKey: string;
  readonly mediaMaxBytes: number;
  readonly mediaMaxPixels: number;
  readonly mediaUrlTtlMs: number;
  readonly mediaUnsentTtlMs: number;
  /** HMAC key of picture URLs. Empty: one generated and kept in MEDIA_DIR (single node only). */
  readonly mediaSecret: string;
  /** Pictures decoded at once on this node, and how many more may wait; beyond that an upload gets `unavailable`. */
  readonly mediaProcessingConcurrency: number;
  readonly mediaProcessingQueue: number;
  readonly uploadRatePerMin: number;
  readonly uploadBurst: number;
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  def: Config[K];
  help: string;
  parse(raw: string): Config[K] | undefined;
  expect: string;
}

function int(min: number, max: number) {
  return (raw: string): number | undefined => {
    if (!/^-?\d+$/.test(raw.trim())) return undefined;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  };
}
function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T | undefined => (values as string[]).includes(raw) ? (raw as T) : undefined;
}
const bool = (raw: string): boolean | undefined => (/^(true|1|yes)$/i.test(raw) ? true : /^(false|0|no)$/i.test(raw) ? false : undefined);
/** Origins are compared as the browser sends them: scheme://host[:port], no path. */
function origins(raw: string): string[] | undefined {
  const list = raw.split(',').map((o) => o.trim()).filter(Boolean);
  if (list.length === 1 && list[0] === '*') return ['*'];
  const out: string[] = [];
  for (const o of list) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      return undefined;
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== o.replace(/\/$/, '')) return undefined;
    out.push(u.origin);
  }
  return out.length ? out : undefined;
}
const nonEmpty = (raw: string): string | undefined => (raw.trim() === '' ? undefined : raw.trim());

// `as never` keeps the table compact; each row's parser is checked by `expect` text and tests.
const SETTINGS: Setting<keyof Config>[] = [
  { key: 'host', env: 'HOST', def: '0.0.0.0', help: 'address to listen on', parse: nonEmpty, expect: 'a host name or IP address' },
  { key: 'port', env: 'PORT', def: 8080, help: 'TCP port (0 picks a free one)', parse: int(0, 65535), expect: 'an integer from 0 to 65535' },
  { key: 'databaseUrl', env: 'DATABASE_URL', def: 'sqlite:./data/parley.db', help: 'sqlite:<file>, sqlite::memory: or postgres://user@host:port/db', parse: (r: string) => (/^(sqlite:.+|postgres(ql)?:\/\/.+)/.test(r) ? r : undefined), expect: 'sqlite:<path>, sqlite::memory: or postgres://...' },
  { key: 'redisUrl', env: 'REDIS_URL', def: '', help: 'redis://host:port for many nodes (bus and presence); empty: one node, in-process', parse: (r: string) => (/^rediss?:\/\/.+/.test(r) ? r : undefined), expect: 'redis://host:port' },
  { key: 'presenceTtlMs', env: 'PRESENCE_TTL_MS', def: 30000, help: "how long a node's presence claims last without renewal (a crashed node's users go offline within this)", parse: int(1000, 3600000), expect: 'an integer from 1000 to 3600000' },
  { key: 'databasePoolSize', env: 'DATABASE_POOL_SIZE', def: 10, help: 'PostgreSQL connections per node', parse: int(1, 1000), expect: 'an integer from 1 to 1000' },
  { key: 'sqliteSynchronous', env: 'SQLITE_SYNCHRONOUS', def: 'full', help: 'full: fsync every commit (survives power loss); normal: survives process crashes only', parse: oneOf('full', 'normal'), expect: 'full or normal' },
  { key: 'logLevel', env: 'LOG_LEVEL', def: 'info', help: 'log level', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), expect: 'fatal, error, warn, info, debug, trace or silent' },
  { key: 'nodeId', env: 'NODE_ID', def: '', help: 'name of this node in logs (default: host name and pid)', parse: (r: string) => r, expect: 'a string' },
  { key: 'maxFrameBytes', env: 'MAX_FRAME_BYTES', def: 65536, help: 'largest WebSocket frame accepted; larger closes the socket with 1009', parse: int(1024, 16 * 1024 * 1024), expect: 'an integer from 1024 to 16777216' },
  { key: 'maxMessageChars', env: 'MAX_MESSAGE_CHARS', def: 4000, help: 'longest message text, in Unicode code points', parse: int(1, 100000), expect: 'an integer from 1 to 100000' },
  { key: 'sendRatePerSec', env: 'SEND_RATE', def: 50, help: 'sustained messages per second per user', parse: int(1, 1000000), expect: 'an integer from 1 to 1000000' },
  { key: 'sendBurst', env: 'SEND_BURST', def: 100, help: 'messages a user may send in a burst', parse: int(1, 1000000), expect: 'an integer from 1 to 1000000' },
  { key: 'maxConnectionsPerUser', env: 'MAX_CONNECTIONS_PER_USER', def: 16, help: 'open connections per user on one node', parse: int(1, 100000), expect: 'an integer from 1 to 100000' },
  { key: 'pageSizeMax', env: 'PAGE_SIZE_MAX', def: 1000, help: 'largest page of sync, history or conversations', parse: int(10, 10000), expect: 'an integer from 10 to 10000' },
  { key: 'maxBufferedBytes', env: 'MAX_BUFFERED_BYTES', def: 4 * 1024 * 1024, help: 'unsent bytes queued for one socket before it is closed as too slow (1013)', parse: int(65536, 1024 * 1024 * 1024), expect: 'an integer from 65536 to 1073741824' },
  { key: 'heartbeatMs', env: 'HEARTBEAT_MS', def: 30000, help: 'WebSocket ping interval; a socket that misses one is closed', parse: int(100, 3600000), expect: 'an integer from 100 to 3600000' },
  { key: 'maxGroupMembers', env: 'MAX_GROUP_MEMBERS', def: 256, help: 'members a group may have', parse: int(2, 100000), expect: 'an integer from 2 to 100000' },
  { key: 'typingRatePerSec', env: 'TYPING_RATE', def: 2, help: 'typing notices per second per user (burst 3x); more get rate_limited', parse: int(1, 1000), expect: 'an integer from 1 to 1000' },
  { key: 'typingTtlMs', env: 'TYPING_TTL_MS', def: 6000, help: 'how long a typing indicator lasts unless renewed', parse: int(500, 60000), expect: 'an integer from 500 to 60000' },
  { key: 'presenceThrottleMs', env: 'PRESENCE_THROTTLE_MS', def: 2000, help: 'at most one presence change per user is pushed in this window (the latest wins)', parse: int(0, 600000), expect: 'an integer from 0 to 600000' },
  { key: 'drainWindowMs', env: 'DRAIN_WINDOW_MS', def: 10000, help: 'on SIGTERM, connections are closed (1012) at random moments within this window', parse: int(0, 3600000), expect: 'an integer from 0 to 3600000' },
  { key: 'drainGraceMs', env: 'DRAIN_GRACE_MS', def: 5000, help: 'after the window, time for in-flight writes before the process exits anyway', parse: int(100, 600000), expect: 'an integer from 100 to 600000' },
  { key: 'authMode', env: 'AUTH_MODE', def: 'open', help: 'open: log in with a username alone (accounts with a password need it); password: register and log in with a password (recommended for production)', parse: oneOf('open', 'password'), expect: 'open or password' },
  { key: 'tokenTtlMs', env: 'TOKEN_TTL_MS', def: 30 * 24 * 3600 * 1000, help: 'a session token expires this long after it was last used to log in', parse: int(1000, 10 * 365 * 24 * 3600 * 1000), expect: 'an integer from 1000 to 315360000000' },
  { key: 'allowedOrigins', env: 'ALLOWED_ORIGINS', def: [], help: 'comma-separated browser origins (https://chat.example.com) allowed to open WebSockets and call the API, besides the server\'s own; * allows any', parse: origins, expect: 'a comma-separated list of origins such as https://chat.example.com, or *' },
  { key: 'trustProxy', env: 'TRUST_PROXY', def: false, help: 'take the client address from X-Forwarded-For: set only when every request comes through your load balancer', parse: bool, expect: 'true or false' },
  { key: 'maxConnectionsPerAddress', env: 'MAX_CONNECTIONS_PER_ADDRESS', def: 1000, help: 'open WebSocket connections per client IP address on one node', parse: int(1, 1000000), expect: 'an integer from 1 to 1000000' },
  { key: 'loginFailuresPerMin', env: 'LOGIN_FAILURES_PER_MIN', def: 10, help: 'failed log-ins allowed per minute, per username and per address (after the burst)', parse: int(1, 1000000), expect: 'an integer from 1 to 1000000' },
  { key: 'loginFailureBurst', env: 'LOGIN_FAILURE_BURST', def: 10, help: 'failed log-ins allowed at once per username and per address', parse: int(1, 1000000), expect: 'an integer from 1 to 1000000' },
  { key: 'registrationsPerMin', env: 'REGISTRATIONS_PER_MIN', def: 30, help: 'accounts one address may register per minute (burst the same)', parse: int(1, 1000000), expect: 'an integer from 1 to 1000000' },
  { key: 'mediaStore', env: 'MEDIA_STORE', def: 'disk', help: 'where picture bytes are kept: disk (MEDIA_DIR) or s3 (MEDIA_S3_* settings)', parse: oneOf('disk', 's3'), expect: 'disk or s3' },
  { key: 'mediaDir', env: 'MEDIA_DIR', def: './data/media', help: 'directory of pictures (MEDIA_STORE=disk) and of the generated MEDIA_SECRET', parse: nonEmpty, expect: 'a directory path' },
  { key: 'mediaS3Bucket', env: 'MEDIA_S3_BUCKET', def: '', help: 'S3 bucket of pictures (MEDIA_STORE=s3)', parse: (r: string) => (/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(r) ? r : undefined), expect: 'an S3 bucket name' },
  { key: 'mediaS3Endpoint', env: 'MEDIA_S3_ENDPOINT', def: '', help: 'S3-compatible endpoint URL (empty: AWS)', parse: (r: string) => (/^https?:\/\/.+/.test(r) ? r : undefined), expect: 'an http:// or https:// URL' },
  { key: 'mediaS3Region', env: 'MEDIA_S3_REGION', def: 'us-east-1', help: 'S3 region', parse: nonEmpty, expect: 'a region name' },
  { key: 'mediaS3ForcePathStyle', env: 'MEDIA_S3_FORCE_PATH_STYLE', def: false, help: 'address the bucket in the path (most S3-compatible servers) instead of the host name', parse: bool, expect: 'true or false' },
  { key: 'mediaS3AccessKeyId', env: 'MEDIA_S3_ACCESS_KEY_ID', def: '', help: "S3 access key (empty: the AWS SDK's standard sources, e.g. AWS_ACCESS_KEY_ID)", parse: nonEmpty, expect: 'an access key id' },
  { key: 'mediaS3SecretAccessKey', env: 'MEDIA_S3_SECRET_ACCESS_KEY', def: '', help: 'S3 secret key, with MEDIA_S3_ACCESS_KEY_ID', parse: nonEmpty, expect: 'a secret access key' },
  { key: 'mediaMaxBytes', env: 'MEDIA_MAX_BYTES', def: 10 * 1024 * 1024, help: 'largest picture upload in bytes; larger gets too_large', parse: int(1024, 1024 * 1024 * 1024), expect: 'an integer from 1024 to 1073741824' },
  { key: 'mediaMaxPixels', env: 'MEDIA_MAX_PIXELS', def: 50_000_000, help: 'largest picture in pixels (width x height), checked before decoding; larger gets too_large', parse: int(1, 1_000_000_000), expect: 'an integer from 1 to 1000000000' },
  { key: 'mediaUrlTtlMs', env: 'MEDIA_URL_TTL_MS', def: 3_600_000, help: 'picture URLs handed to members stay valid at least this long', parse: int(1000, 7 * 24 * 3_600_000), expect: 'an integer from 1000 to 604800000' },
  { key: 'mediaUnsentTtlMs', env: 'MEDIA_UNSENT_TTL_MS', def: 24 * 3_600_000, help: 'uploads never sent in a message are deleted after this long', parse: int(1000, 365 * 24 * 3_600_000), expect: 'an integer from 1000 to 31536000000' },
  { key: 'mediaSecret', env: 'MEDIA_SECRET', def: '', help: 'HMAC key of picture URLs, at least 32 characters; required with several nodes (empty: generated once into MEDIA_DIR)', parse: (r: string) => (r.length >= 32 ? r : undefined), expect: 'a string of at least 32 characters' },
  { key: 'mediaProcessingConcurrency', env: 'MEDIA_PROCESSING_CONCURRENCY', def: 2, help: 'pictures decoded at once on this node (each can take hundreds of MiB at MEDIA_MAX_PIXELS)', parse: int(1, 256), expect: 'an integer from 1 to 256' },
  { key: 'mediaProcessingQueue', env: 'MEDIA_PROCESSING_QUEUE', def: 16, help: 'uploads that may wait for a decoding slot; more get unavailable (503) before their body is read', parse: int(0, 100_000), expect: 'an integer from 0 to 100000' },
  { key: 'uploadRatePerMin', env: 'UPLOAD_RATE', def: 30, help: 'picture uploads per minute per user, sustained; more get rate_limited', parse: int(1, 1_000_000), expect: 'an integer from 1 to 1000000' },
  { key: 'uploadBurst', env: 'UPLOAD_BURST', def: 10, help: 'picture uploads a user may make at once', parse: int(1, 1_000_000), expect: 'an integer from 1 to 1000000' },
] as never;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const flagName = (env: string) => env.toLowerCase().replace(/_/g, '-');

/** Reads configuration from `env` and `argv` flags. Throws ConfigError naming the first bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = [], overrides: Partial<Config> = {}): Config {
  const options: Record<string, { type: 'string' }> = {};
  for (const s of SETTINGS) options[flagName(s.env)] = { type: 'string' };
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Known flags: ${Object.keys(options).map((f) => `--${f}`).join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const flag = flags[flagName(s.env)];
    const raw = flag ?? env[s.env];
    if (raw === undefined || raw === '') {
      out[s.key] = s.def;
      continue;
    }
    const value = s.parse(raw);
    if (value === undefined) {
      const source = flag !== undefined ? `--${flagName(s.env)}` : s.env;
      throw new ConfigError(`Invalid configuration: ${source} must be ${s.expect} (got ${JSON.stringify(raw)})`);
    }
    out[s.key] = value;
  }
  Object.assign(out, overrides);
  if (out.nodeId === '') out.nodeId = `${process.env.HOSTNAME ?? 'node'}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  if ((out.sendBurst as number) < (out.sendRatePerSec as number) / 10) {
    throw new ConfigError('Invalid configuration: SEND_BURST must be at least a tenth of SEND_RATE');
  }
  if (out.mediaStore === 's3' && out.mediaS3Bucket === '') {
    throw new ConfigError('Invalid configuration: MEDIA_S3_BUCKET must be set when MEDIA_STORE is s3');
  }
  if ((out.mediaS3AccessKeyId === '') !== (out.mediaS3SecretAccessKey === '')) {
    throw new ConfigError('Invalid configuration: MEDIA_S3_ACCESS_KEY_ID and MEDIA_S3_SECRET_ACCESS_KEY must be set together');
  }
  return Object.freeze(out) as unknown as Config;
}

/** Lines for `parley --help`. */
export function describeSettings(): string[] {
  return SETTINGS.map((s) => `  --${flagName(s.env).padEnd(22)} ${s.env.padEnd(26)} ${s.help} (default ${JSON.stringify(s.def)})`);
}
