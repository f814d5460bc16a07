import { createServer, Socket, type Server } from 'node:net';
import WebSocket from 'ws';
import { ParleyClient, type ParleyClientOptions, type WebSocketConstructor } from '../sdk/src/index.js';
import type { Message } from '../src/protocol/schemas.js';

/** Waits until `cond` holds, checking every 20 ms; fails naming `what` after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An SDK client on Node 20 (the `ws` package as WebSocket) that records every message event. */
export function sdkClient(url: string, username: string, opts: Partial<ParleyClientOptions> = {}) {
  const client = new ParleyClient({
    url, auth: { username }, WebSocket: WebSocket as unknown as WebSocketConstructor,
    backoff: { initialMs: 50, maxMs: 1000 }, heartbeatMs: 2000, heartbeatTimeoutMs: 2000, ...opts,
  });
  const received: Message[] = [];
  client.on('message', (m) => received.push(m));
  return { client, received };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * A base port P such that P..P+count are free, below the ephemeral range (so
 * that no client socket of another test can be holding one of them).
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 10000);
    const servers: ReturnType<typeof createServer>[] = [];
    try {
      for (let p = base; p <= base + count; p++) {
        const srv = createServer();
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(p, '127.0.0.1', () => resolve());
        });
        servers.push(srv);
      }
      return base;
    } catch {
      /* taken: try another block */
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  }
  throw new Error('no free block of ports');
}

/**
 * A TCP proxy in front of the server that can go silent: it stops forwarding
 * in both directions without closing anything, like a dead NAT entry.
 */
export class SilentProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;

  constructor(private readonly target: number) {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.target, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) => from.on('data', (d) => to.write(d));
      forward(client, upstream);
      forward(upstream, client);
      const end = () => { client.destroy(); upstream.destroy(); this.pairs.delete(pair); };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Silences the connections open now; new connections work normally. */
  freezeExisting(): void {
    for (const [a, b] of this.pairs) {
      a.removeAllListeners('data');
      b.removeAllListeners('data');
    }
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) { a.destroy(); b.destroy(); }
    await new Promise((r) => this.server.close(r));
  }
}
