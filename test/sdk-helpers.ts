import { createServer, Socket, type Server } from 'node:net';
import WebSocket from 'ws';
import { ParleyClient, type ParleyClientOptions, type WebSocketConstructor } from '../sdk/src/index.js';
import type { Message } from '../src/protocol/schemas.js';

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
