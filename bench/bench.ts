/**
 * `parley bench <scenario>`: drives a Parley server over real WebSockets and
 * prints figures (a table, and one JSON line to paste into
 * docs/benchmarks.md). Without --url it starts its own server on a fresh
 * SQLite file and stops it at the end. Loopback only; bounded in time.
 */
import { parseArgs } from 'node:util';
import { rssOf, startServer, type ServerUnderTest } from './load.js';
import { catchup, home, idle, media, throughput, type Figures } from './scenarios.js';
import { runClusterBench } from './cluster.js';
import { startRelay } from './relay.js';

const USAGE = `Usage: parley bench <scenario> [options]

Scenarios:
  throughput   N users send 1:1 messages at a fixed total rate (--users 1000 --rate 10000 --duration 10 --warmup 2)
  catchup      a device offline while 1,000 messages arrive: time from its sync to having all (--runs 7 --messages 1000)
  idle         many idle logged-in connections: server memory per connection (--connections 19000)
  home         1,000 conversations x 50 messages, 10,000 missed across 300: home-screen delta and catch-up times
  media        picture uploads one at a time (--uploads 50 of a 1920x1080 JPEG): upload-to-thumbnail time, median and p95
  cluster      starts \`parley cluster\` (PostgreSQL, Redis, HAProxy) and sends between users on different nodes
               (--nodes 3 --users 600 --rate 5000 --duration 10 --runs 3); prints each node's bus traffic
  floor        the throughput scenario against a bare relay (no storage, no validation) instead of Parley:
               what Node, ws and this machine give with no chat server at all (same options as throughput)
  all          throughput at 10,000/s and 20,000/s, catchup, home, media, idle

Options:
  --url ws://host:port/v1/ws   drive a running server instead of starting one
  --server-pid N               its process id, to read its memory (with --url)
  --sync full|normal           SQLITE_SYNCHRONOUS of the server the bench starts (default full)
`;

function print(name: string, f: Figures): void {
  process.stdout.write(`\n== ${name}\n`);
  for (const [k, v] of Object.entries(f)) process.stdout.write(`  ${k.padEnd(26)} ${v}\n`);
  process.stdout.write(`${JSON.stringify({ scenario: name, date: new Date().toISOString(), ...f })}\n`);
}

export async function runBench(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' }, 'server-pid': { type: 'string' }, sync: { type: 'string', default: 'full' },
      users: { type: 'string', default: '1000' }, rate: { type: 'string', default: '10000' }, duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' }, runs: { type: 'string', default: '7' }, messages: { type: 'string', default: '1000' },
      connections: { type: 'string', default: '19000' }, nodes: { type: 'string', default: '3' }, help: { type: 'boolean', short: 'h' },
      uploads: { type: 'string', default: '50' },
    },
  });
  const scenario = positionals[0] ?? 'throughput';
  if (values.help || !['throughput', 'catchup', 'idle', 'home', 'media', 'all', 'cluster', 'floor'].includes(scenario)) {
    process.stdout.write(USAGE);
    return;
  }
  const n = (k: keyof typeof values) => Number(values[k]);
  if (scenario === 'cluster') {
    await runClusterBench({ nodes: n('nodes'), users: n('users') === 1000 ? 600 : n('users'), rate: n('rate') === 10000 ? 5000 : n('rate'), duration: n('duration'), runs: n('runs') === 7 ? 3 : n('runs') }, print);
    return;
  }
  let server: ServerUnderTest | undefined;
  let url = values.url;
  let rss = () => (values['server-pid'] ? rssOf(Number(values['server-pid'])) : NaN);
  const floor = scenario === 'floor';
  if (floor || !url) {
    const started = floor ? await startRelay() : await startServer({ SQLITE_SYNCHRONOUS: values.sync === 'normal' ? 'normal' : 'full' });
    server = started;
    url = started.url;
    rss = () => started.rssBytes();
    process.stdout.write(`${floor ? 'relay' : 'server'} pid ${started.pid} at ${url} (${floor ? 'no storage' : `SQLite, synchronous=${values.sync}`})\n`);
  }
  try {
    const withRss = (f: Figures): Figures => ({ ...f, server_rss_mib: Math.round(rss() / 2 ** 20) });
    if (scenario === 'throughput' || floor) {
      print(floor ? 'floor (bare relay)' : 'throughput', withRss(await throughput({ urls: [url], users: n('users'), rate: n('rate'), duration: n('duration'), warmup: n('warmup') })));
    }
    if (scenario === 'catchup') print('catchup', await catchup({ url, runs: n('runs'), messages: n('messages') }));
    if (scenario === 'home') print('home', await home({ url, conversations: 1000, history: 50, changed: 300, missed: 10000 }));
    if (scenario === 'idle') print('idle', await idle({ url, connections: n('connections'), rss }));
    if (scenario === 'media') print('media', await media({ url, uploads: n('uploads'), width: 1920, height: 1080 }));
    if (scenario === 'all') {
      print('throughput 10k/s', withRss(await throughput({ urls: [url], users: 1000, rate: 10000, duration: 10, warmup: 2 })));
      print('throughput 20k/s', withRss(await throughput({ urls: [url], users: 1000, rate: 20000, duration: 10, warmup: 2 })));
      print('catchup', await catchup({ url, runs: 7, messages: 1000 }));
      print('home', await home({ url, conversations: 1000, history: 50, changed: 300, missed: 10000 }));
      print('media', await media({ url, uploads: 50, width: 1920, height: 1080 }));
      print('idle', await idle({ url, connections: n('connections'), rss }));
    }
  } finally {
    await server?.stop();
  }
}
