/**
 * `parley <command> [flags]`: serve, migrate, bench. Every setting can be a
 * flag or an environment variable (see `parley help`).
 */
import { buildApp, createStore } from './app.js';
import { ConfigError, describeSettings, loadConfig } from './config.js';
import { CloseCode } from './edges/ws-connection.js';
import { createLogger } from './log.js';

const USAGE = `Usage: parley <command> [flags]

Commands:
  serve     run the server (WebSocket at /v1/ws, HTTP API under /v1)
  migrate   bring the database schema up to date and exit
  cluster   local cluster: N nodes on PostgreSQL and Redis behind HAProxy (--nodes 3 --port 8080); Ctrl-C stops it
  chat      terminal chat client: parley chat --user NAME [--url ws://host:port/v1/ws] [--state FILE] [--register]
            (PARLEY_PASSWORD=... when the server or the account needs a password)
  bench     drive a server with load and print latency and throughput (parley bench --help)
  help      this text

Settings (flag, environment variable, meaning):
${describeSettings().join('\n')}
`;

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  const app = buildApp(config);
  await app.listen();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    const window = config.drainWindowMs;
    app.log.info({ signal, drainWindowMs: window, connections: app.gateway.size }, 'draining: not ready, asking clients to reconnect elsewhere');
    // The bound: the window plus a grace period for the writes in flight; a second signal exits at once.
    const force = setTimeout(() => {
      app.log.error({ remaining: app.gateway.size }, 'drain did not finish in time: exiting');
      process.exit(1);
    }, window + config.drainGraceMs).unref();
    app.close(CloseCode.restart, window).then(() => {
      app.log.info('drained');
      clearTimeout(force);
      process.exit(0);
    }, (err: unknown) => {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function migrate(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  const log = createLogger(config);
  const store = createStore(config);
  await store.migrate();
  await store.close();
  log.info({ database: config.databaseUrl }, 'schema is up to date');
}

export async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'migrate':
        return await migrate(rest);
      case 'cluster': {
        const { runCluster } = await import('./cluster.js');
        return await runCluster(rest);
      }
      case 'chat': {
        const { runChat } = await import('../terminal/chat.js');
        return await runChat(rest);
      }
      case 'bench': {
        const { runBench } = await import('../bench/bench.js');
        return await runBench(rest);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return;
      default:
        process.stderr.write(`parley: unknown command "${command}"\n\n${USAGE}`);
        process.exitCode = 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
