/**
 * Test helpers: real servers on ephemeral ports, real SQLite files, real
 * WebSocket clients. Nothing here fakes the network or the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { buildApp, type App } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import type { Conversation, Message, ResultOf } from '../src/protocol/schemas.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function tempDir(prefix = 'parley-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Which database the integration tests run on: `sqlite` (default) or
 * `postgres` (TEST_DATABASE=postgres; `npm test` runs both passes). Each
 * server gets a fresh database.
 */
export const TEST_DATABASE = process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let dbCounter = 0;
const created: string[] = [];

async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

if (TEST_DATABASE === 'postgres') {
  try {
    await pgAdmin((c) => c.query('SELECT 1'));
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL is required for the PostgreSQL test pass under CI: ${(err as Error).message}`);
    console.warn(`\n*** SKIPPING the PostgreSQL pass: no server at ${PG_ADMIN_URL} (${(err as Error).message}) ***\n`);
    process.exit(0);
  }
}

/** A fresh, empty database for one server (or several sharing it): an SQLite file under `dir`, or a new PostgreSQL database. */
export async function freshDatabase(dir: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (TEST_DATABASE === 'sqlite') return { url: `sqlite:${join(dir, `${name}.db`)}`, drop: async () => {} };
  const db = `parley_t${process.pid}_${++dbCounter}_${name.replace(/\W/g, '')}`.toLowerCase();
  await pgAdmin((c) => c.query(`CREATE DATABASE ${db}`));
  created.push(db);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${db}`;
  return { url: url.toString(), drop: () => pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)).then(() => undefined) };
}

/** Drops every database this test process created (for servers run as child processes). */
export async function dropDatabases(): Promise<void> {
  if (TEST_DATABASE !== 'postgres') return;
  const names = created.splice(0);
  await pgAdmin(async (c) => {
    for (const db of names) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  });
}

export interface TestServer {
  app: App;
  port: number;
  url: string;
  http: string;
  databaseUrl: string;
  close(): Promise<void>;
}

/** Starts an in-process server on 127.0.0.1 and a fresh SQLite file. */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const tmp = tempDir();
  const db = await freshDatabase(tmp.dir, 'parley');
  const config: Config = loadConfig({
    HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', DATABASE_URL: db.url, SQLITE_SYNCHRONOUS: 'normal', MEDIA_DIR: join(tmp.dir, 'media'), ...env,
  });
  const app = buildApp(config);
  const port = await app.listen();
  return {
    app, port, databaseUrl: db.url,
    url: `ws://127.0.0.1:${port}/v1/ws`,
    http: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await db.drop();
      tmp.cleanup();
    },
  };
}

/** Starts `parley serve` as a child process (for crash tests); resolves when it listens. */
export async function spawnServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; url: string; exited: Promise<number | null>; output(): string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/parley.js'), 'serve'], {
    // At least info: the port is read from the 'parley listening' log line.
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env, LOG_LEVEL: env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? env.LOG_LEVEL : 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let buf = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buf}`)), 15000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const m = /"port":(\d+),"ws"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => { buf += chunk.toString(); });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)));
  });
  child.stdout!.resume();
  // Everything the server wrote (its JSON logs and stderr), for tests that read the logs.
  return { child, port, url: `ws://127.0.0.1:${port}/v1/ws`, exited, output: () => buf };
}

export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

type Frame = Record<string, unknown> & { type: string };
export interface PushFrame { type: 'message'; pos: number; token: string; message: Message; conversation?: Conversation }

/** A raw protocol client: one WebSocket, requests by id, pushes collected. */
export class Client {
  readonly pushes: PushFrame[] = [];
  readonly messages: Message[] = [];
  readonly errors: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  username = '';
  token = '';
  private nextId = 1;
  private readonly pending = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as Frame));
    ws.on('error', () => { /* close follows */ });
    ws.once('close', () => {
      for (const p of this.pending.values()) p.reject(new RequestError('closed', 'connection closed'));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Client(ws);
  }

  /** Connects and logs in by username (or resumes with a session token). */
  static async login(url: string, who: { username: string; password?: string } | { token: string }): Promise<Client> {
    const c = await Client.connect(url);
    const r = await c.request('login', who);
    c.username = r.user.username;
    c.token = r.token;
    return c;
  }

  private onFrame(f: Frame): void {
    if (f.type === 'result' || f.type === 'error') {
      const p = this.pending.get(f.id as string);
      if (p) {
        this.pending.delete(f.id as string);
        if (f.type === 'result') p.resolve(f.result);
        else {
          const e = f.error as { code: string; message: string };
          p.reject(new RequestError(e.code, e.message));
        }
      } else if (f.type === 'error') {
        this.errors.push(f);
      }
    } else if (f.type === 'message') {
      this.pushes.push(f as unknown as PushFrame);
      this.messages.push(f.message as Message);
    }
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  request<K extends keyof ResultOf>(type: K, params: Record<string, unknown> = {}): Promise<ResultOf[K]> {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) return reject(new RequestError('closed', 'connection closed'));
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ type, id, ...params }));
    });
  }

  /** Sends a raw string and resolves with the next unsolicited error frame or the reply to `id`. */
  sendRaw(data: string | Buffer, opts: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: opts.binary ?? false });
  }

  /** Waits until `cond()` holds, re-checking after each frame. */
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  send(to: string, text: string, clientId = `c-${Math.random().toString(36).slice(2)}`) {
    return this.request('send', { to, text, clientId });
  }

  /** Syncs from `token` until no more pages; returns all messages and the final token. */
  async syncAll(token: string, limit = 1000): Promise<{ messages: Message[]; token: string; pages: number }> {
    const messages: Message[] = [];
    let pages = 0;
    for (;;) {
      const r = await this.request('sync', { token, limit });
      pages++;
      messages.push(...r.messages);
      token = r.token;
      if (!r.hasMore) return { messages, token, pages };
    }
  }

  close(): void {
    this.ws.close();
  }
}

export const key = (m: Pick<Message, 'conversationId' | 'seq'>) => `${m.conversationId}:${m.seq}`;

/** Resolves after `ms`, or never rejects: a small quiet period to prove nothing more arrives. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One HTTP request to a test server; the body is parsed as JSON when there is one. */
export async function httpCall(base: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

/** Runs one SQL statement on a test database (SQLite file or PostgreSQL): rows of a query, to check what was stored, or a change that sets up a state (an expired token). */
export async function queryDatabase(url: string, query: string): Promise<Record<string, unknown>[]> {
  if (url.startsWith('sqlite:')) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.pragma('busy_timeout = 5000');
      const stmt = db.prepare(query);
      if (!stmt.reader) {
        stmt.run();
        return [];
      }
      return stmt.all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(query)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}
