/**
 * Cross-node delivery on a local cluster: `parley cluster` with N nodes on
 * PostgreSQL and Redis; every user talks only to users on other nodes, so
 * every push crosses the bus. Reports latency and each node's bus traffic.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { BIN, sleep } from './load.js';
import { throughput, type Figures } from './scenarios.js';

const DB = 'parley_bench';

async function scrape(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(parley_[a-z_]+)\{[^}]*\} ([0-9.e+-]+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

export async function runClusterBench(o: { nodes: number; users: number; rate: number; duration: number; runs: number }, print: (name: string, f: Figures) => void): Promise<void> {
  const admin = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.end();
  const dbUrl = new URL(admin);
  dbUrl.pathname = `/${DB}`;
  const port = 18400 + Math.floor(Math.random() * 500);
  const child = spawn(process.execPath, [BIN, 'cluster', '--nodes', String(o.nodes), '--port', String(port), '--database-url', dbUrl.toString(), '--redis-url', process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'], {
    env: { ...process.env, LOG_LEVEL: 'warn', SEND_RATE: '1000000', SEND_BURST: '1000000', MAX_CONNECTIONS_PER_USER: '1000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<{ nodes: { port: number }[] }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.includes('"cluster ready"'));
      if (line) resolve(JSON.parse(line) as { nodes: { port: number }[] });
    });
    child.once('exit', (code) => reject(new Error(`cluster exited with ${code}`)));
  });
  child.stdout!.resume();
  try {
    const urls = ready.nodes.map((n) => `ws://127.0.0.1:${n.port}/v1/ws`);
    // User i is on node i % nodes; partners at these offsets are never on the same node (for 3 nodes).
    const offsets = [1, 2, 4, 5, 7];
    const users = o.users - (o.users % o.nodes);
    for (let run = 1; run <= o.runs; run++) {
      const before = await Promise.all(ready.nodes.map((n) => scrape(n.port)));
      const f = await throughput({ urls, users, rate: o.rate, duration: o.duration, warmup: 2, pick: (i, n, k) => (i + offsets[k % offsets.length]!) % n });
      const after = await Promise.all(ready.nodes.map((n) => scrape(n.port)));
      const perNode: Figures = {};
      ready.nodes.forEach((_, i) => {
        const d = (k: string) => Math.round((after[i]![k] ?? 0) - (before[i]![k] ?? 0));
        perNode[`node${i + 1}_bus_received`] = d('parley_bus_received_total');
        perNode[`node${i + 1}_bus_published`] = d('parley_bus_published_total');
        perNode[`node${i + 1}_stored`] = d('parley_messages_stored_total');
      });
      print(`cluster run ${run}`, { nodes: o.nodes, ...f, ...perNode });
      await sleep(500);
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
