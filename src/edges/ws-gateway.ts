import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import type { Hub } from '../service/hub.js';
import { clientAddress, originAllowed } from './origin.js';
import { CloseCode, Connection } from './ws-connection.js';
import type { Services } from './ws-handlers.js';

export const WS_PATH = '/v1/ws';

/** Accepts WebSocket upgrades on WS_PATH and keeps connections alive with pings. */
export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  /** Open connections per client address (MAX_CONNECTIONS_PER_ADDRESS). */
  private readonly perAddress = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private accepting = true;
  /** Counters for operators (and tests). */
  readonly stats = {
    accepted: 0, refusedOrigin: 0, refusedAddressLimit: 0, slowConsumerCloses: 0, heartbeatTimeouts: 0, draining: 0, drainRemaining: 0,
    /** Closed connections by reason: the close code, read as what happened. */
    disconnects: { client: 0, dropped: 0, too_large: 0, slow_consumer: 0, drain: 0, shutdown: 0, revoked: 0 } as Record<string, number>,
  };

  constructor(
    server: Server,
    readonly services: Services,
    readonly hub: Hub,
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatMs).unref();
  }

  get size(): number {
    return this.connections.size;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH || !this.accepting) {
      const status = path !== WS_PATH ? '404 Not Found' : '503 Service Unavailable';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    socket.on('error', () => socket.destroy());
    if (!originAllowed(req.headers.origin, req.headers.host, this.config)) {
      this.stats.refusedOrigin++;
      refuse(socket, '403 Forbidden', { code: 'forbidden', message: 'origin not allowed (see ALLOWED_ORIGINS)' });
      return;
    }
    const address = clientAddress(req, this.config);
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.config.maxConnectionsPerAddress) {
      this.stats.refusedAddressLimit++;
      refuse(socket, '429 Too Many Requests', { code: 'rate_limited', message: 'too many connections from this address', retryAfterMs: 5000 }, 'Retry-After: 5\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Counted once established: a handshake that fails never reaches here.
      this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
      this.stats.accepted++;
      this.connections.add(new Connection(ws, this, address));
    });
  }

  onClosed(conn: Connection, code: number): void {
    this.connections.delete(conn);
    const n = (this.perAddress.get(conn.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(conn.address);
    else this.perAddress.set(conn.address, n);
    const reason = code === CloseCode.revoked ? 'revoked' : code === CloseCode.restart ? 'drain' : code === CloseCode.tryAgainLater ? 'slow_consumer' : code === CloseCode.tooLarge ? 'too_large'
      : code === CloseCode.goingAway && !this.accepting ? 'shutdown' : code === 1006 ? 'dropped' : 'client';
    this.stats.disconnects[reason] = (this.stats.disconnects[reason] ?? 0) + 1;
    const s = conn.session;
    if (!s) return;
    this.hub.detach(s.userId, conn);
    this.services.presence.disconnected(s.userId, s.username).catch((err: unknown) => this.log.error({ err }, 'presence update failed'));
  }

  private beat(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        this.stats.heartbeatTimeouts++;
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /**
   * Stops accepting sockets and closes every connection with `code`, each at
   * a random moment within `spreadMs`, so that the clients' reconnects to the
   * other nodes spread over the window instead of arriving at once.
   */
  async close(code: number = CloseCode.goingAway, reason = 'server shutting down', spreadMs = 0): Promise<void> {
    this.accepting = false;
    this.stats.draining = 1;
    clearInterval(this.heartbeat);
    const conns = [...this.connections];
    this.stats.drainRemaining = conns.length;
    const closed = conns.map((c) => new Promise<void>((resolve) => {
      c.ws.once('close', () => {
        this.stats.drainRemaining--;
        resolve();
      });
      if (spreadMs <= 0) c.close(code, reason);
      else setTimeout(() => c.close(code, reason), Math.random() * spreadMs);
    }));
    await Promise.all(closed);
    this.wss.close();
  }
}

/** Answers an upgrade that is not taken with an HTTP status and an error body from the catalogue. */
function refuse(socket: Duplex, status: string, error: { code: string; message: string; retryAfterMs?: number }, extra = ''): void {
  const body = JSON.stringify({ error });
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
