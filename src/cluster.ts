/**
 * `parley cluster`: a local cluster on loopback ports: N nodes on PostgreSQL
 * and Redis behind HAProxy, which health-checks /readyz. Runs in the
 * foreground; Ctrl-C (or SIGTERM) stops everything it started.
 *
 * SIGHUP starts a rolling restart: for each node in turn a new node starts on
 * a spare port (HAProxy has 2N server slots), and once it answers /readyz the
 * old one is sent SIGTERM and drains. If a new node never becomes ready, the
 * rollout stops there and the remaining old nodes keep serving. Nodes started
 * by a rollout get the environment in the `--next-env` JSON file, read when
 * the rollout starts (a new configuration, or in tests a broken one).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const BIN = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));

export interface ClusterOptions {
  nodes: number;
  port: number;
  databaseUrl: string;
  redisUrl: string;
  /** Extra environment for every node. */
  env?: Record<string, string>;
}

export function haproxyConfig(port: number, nodePorts: number[]): string {
  return `global
  maxconn 9000
defaults
  mode http
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout http-request 10s
frontend parley
  bind 127.0.0.1:${port}
  # The nodes run with TRUST_PROXY=true and read the client address from here.
  option forwardfor
  default_backend nodes
backend nodes
  balance leastconn
  option httpchk GET /readyz
  http-check expect status 200
  option redispatch
  retries 3
  retry-on conn-failure empty-response 503
  default-server inter 500ms fall 2 rise 2
${nodePorts.map((p, i) => `  server node${i + 1} 127.0.0.1:${p} check`).join('\n')}
`;
}

/** Creates the database named in the URL when it does not exist yet. */
async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) return;
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
}

function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${buf.slice(-2000)}`)), ms);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => { buf += d.toString(); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code}: ${buf.slice(-2000)}`)); });
  });
}

export async function startNode(i: number, port: number, o: ClusterOptions, extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env, ...o.env, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: o.databaseUrl, REDIS_URL: o.redisUrl, TRUST_PROXY: 'true',
      NODE_ID: `node${i + 1}-${port}-${Date.now().toString(36)}`, LOG_LEVEL: 'info', ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /"msg":"parley listening"/, 20000);
  // From here on the node's JSON logs go to the cluster's own output.
  child.stdout!.pipe(process.stdout);
  child.stderr!.pipe(process.stderr);
  return child;
}

export async function runCluster(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '3' },
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      'database-url': { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/parley' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      'next-env': { type: 'string' },
    },
  });
  const o: ClusterOptions = {
    nodes: Number(values.nodes), port: Number(values.port), databaseUrl: values['database-url']!, redisUrl: values['redis-url']!,
    // Every node must sign picture URLs with the same key; without MEDIA_SECRET the cluster makes one for this run.
    env: { MEDIA_SECRET: process.env.MEDIA_SECRET || randomBytes(32).toString('base64url') },
  };
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 32) throw new Error('--nodes must be from 1 to 32');
  if (spawnSync('haproxy', ['-v']).status !== 0) throw new Error('haproxy is not installed: run scripts/install-haproxy.sh (Debian package haproxy)');
  if (!o.databaseUrl.startsWith('postgres')) throw new Error('a cluster needs PostgreSQL: --database-url postgres://...');

  await ensureDatabase(o.databaseUrl);
  // Migrate once, before the nodes start.
  const migrated = spawnSync(process.execPath, [BIN, 'migrate', '--database-url', o.databaseUrl, '--log-level', 'warn'], { stdio: 'inherit' });
  if (migrated.status !== 0) throw new Error('migration failed');

  // 2N server slots: N in use, N spare for the new nodes of a rolling restart.
  const slots: { port: number; node: ChildProcess | undefined }[] = Array.from({ length: 2 * o.nodes }, (_, i) => ({ port: o.port + 1 + i, node: undefined }));
  const children = new Set<ChildProcess>();
  const dir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
  const say = (event: string, data: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
  let stopping = false;
  let rolling = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all([...children].map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  const track = (c: ChildProcess, what: string) => {
    children.add(c);
    c.once('exit', (code, signal) => {
      children.delete(c);
      for (const slot of slots) if (slot.node === c) slot.node = undefined;
      if (!stopping) say('exited', { what, pid: c.pid, code, signal });
    });
  };

  const rollout = async () => {
    if (rolling || stopping) return;
    rolling = true;
    const nextEnv = values['next-env'] && existsSync(values['next-env']) ? (JSON.parse(readFileSync(values['next-env'], 'utf8')) as Record<string, string>) : {};
    say('rollout started');
    try {
      const old = slots.filter((s) => s.node).map((s) => ({ slot: s, node: s.node! }));
      for (const [i, { slot, node }] of old.entries()) {
        const spare = slots.find((s) => !s.node)!;
        let fresh: ChildProcess | undefined;
        try {
          fresh = await startNode(i, spare.port, o, nextEnv);
          track(fresh, 'node');
          spare.node = fresh;
          await waitReady(`http://127.0.0.1:${spare.port}/readyz`, 20000);
        } catch (err) {
          if (fresh && fresh.exitCode === null) fresh.kill('SIGKILL');
          spare.node = undefined;
          say('rollout failed', { reason: (err as Error).message.slice(0, 300), replaced: i, remainingOld: old.length - i });
          return;
        }
        say('node started', { pid: fresh.pid, port: spare.port });
        const exited = new Promise((r) => node.once('exit', r));
        node.kill('SIGTERM');
        await exited;
        slot.node = undefined;
        say('node replaced', { old: node.pid, new: fresh.pid, port: spare.port });
      }
      say('rollout done', { nodes: slots.filter((s) => s.node).map((s) => ({ pid: s.node!.pid, port: s.port })) });
    } finally {
      rolling = false;
    }
  };

  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void rollout());
  try {
    const first = slots.slice(0, o.nodes);
    const nodes = await Promise.all(first.map((slot, i) => startNode(i, slot.port, o)));
    nodes.forEach((n, i) => {
      first[i]!.node = n;
      track(n, 'node');
    });
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(o.port, slots.map((s) => s.port)));
    const haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
    track(haproxy, 'haproxy');
    await waitReady(`http://127.0.0.1:${o.port}/readyz`, 15000);
    say('cluster ready', {
      url: `ws://127.0.0.1:${o.port}/v1/ws`, http: `http://127.0.0.1:${o.port}`, pid: process.pid,
      nodes: nodes.map((n, i) => ({ pid: n.pid, port: first[i]!.port })), haproxy: haproxy.pid,
    });
  } catch (err) {
    process.stderr.write(`parley cluster: ${(err as Error).message}\n`);
    await stop(1);
  }
}

async function waitReady(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
