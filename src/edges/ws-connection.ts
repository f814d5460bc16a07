import type { WebSocket, RawData } from 'ws';
import { AppError, toErrorBody } from '../errors.js';
import type { LoginResult, ServerFrame } from '../protocol/schemas.js';
import { checkFrame } from '../protocol/validate.js';
import type { Session } from '../service/chat.js';
import type { Sink } from '../service/hub.js';
import type { Gateway } from './ws-gateway.js';
import { handle } from './ws-handlers.js';

/** WebSocket close codes the server uses. */
export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  tooLarge: 1009,
  restart: 1012,
  tryAgainLater: 1013,
  /** The device was logged out (revoked, or changed password elsewhere): do not reconnect with its token. */
  revoked: 4001,
} as const;

/**
 * One WebSocket: reads frames, validates them, calls the service, writes
 * exactly one reply per request. Holds as little as possible: idle
 * connections are most of a chat server's memory.
 */
export class Connection implements Sink {
  session: Session | undefined;
  /** A login is in progress: a second one must not start beside it. */
  private loggingIn = false;
  alive = true;
  private closing = false;

  constructor(readonly ws: WebSocket, private readonly gw: Gateway, readonly address: string) {
    ws.on('message', (data, isBinary) => this.onData(data, isBinary));
    ws.on('pong', () => { this.alive = true; });
    ws.on('close', (code) => this.gw.onClosed(this, code));
    ws.on('error', () => { /* 'close' follows; ws already closed the socket (1009 for oversized frames) */ });
  }

  get deviceId(): number | undefined {
    return this.session?.deviceId;
  }

  revoked(): void {
    // After the current turn: the reply to a logout goes out before the close.
    setImmediate(() => this.close(CloseCode.revoked, 'revoked'));
  }

  push(data: string): void {
    const ws = this.ws;
    if (ws.readyState !== 1 || this.closing) return;
    if (ws.bufferedAmount > this.gw.config.maxBufferedBytes) {
      // A reader this slow would make us buffer without bound; it recovers through sync.
      this.gw.stats.slowConsumerCloses++;
      this.close(CloseCode.tryAgainLater, 'slow_consumer');
      return;
    }
    ws.send(data);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private reply(id: string, result: unknown): void {
    this.push(JSON.stringify({ type: 'result', id, result }));
  }

  private fail(id: string | null, err: unknown): void {
    if (!(err instanceof AppError)) this.gw.log.error({ err }, 'request failed');
    const frame: ServerFrame = { type: 'error', id, error: toErrorBody(err) };
    this.push(JSON.stringify(frame));
  }

  private onData(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.fail(null, new AppError('bad_request', 'binary frames are not supported; send JSON text'));
    let value: unknown;
    try {
      value = JSON.parse(data.toString());
    } catch {
      return this.fail(null, new AppError('bad_request', 'frame is not valid JSON'));
    }
    const check = checkFrame(value);
    if (!check.ok) return this.fail(check.id, new AppError('bad_request', check.message));
    const frame = check.frame;
    const id = frame.id;
    const session = this.session;

    if (frame.type === 'ping') return this.reply(id, { time: Date.now() });
    if (frame.type === 'login' || frame.type === 'register') {
      if (session || this.loggingIn) return this.fail(id, new AppError('conflict', 'already logged in on this connection'));
      this.loggingIn = true;
      // `protocol` (the client's level) needs no handling yet: level 1 is the only one.
      const { type: _t, id: _i, protocol: _p, ...params } = frame;
      const accounts = this.gw.services.accounts;
      void this.login(id, frame.type === 'register'
        ? accounts.register(params as { username: string; password: string }, this.address)
        : accounts.login(params as { username: string } | { token: string }, this.address, (userId) => this.admit(userId)));
      return;
    }
    if (!session) return this.fail(id, new AppError('unauthorized', 'log in first'));

    handle(this.gw.services, session, frame, this, this.address).then((r) => this.reply(id, r), (e) => this.fail(id, e));
  }

  /** Refuses a log in beyond MAX_CONNECTIONS_PER_USER on this node. */
  private admit(userId: number): void {
    const max = this.gw.config.maxConnectionsPerUser;
    if (this.gw.hub.connectionsOf(userId) >= max) throw new AppError('rate_limited', `too many connections for this user (limit ${max})`, 1000);
  }

  private async login(id: string, loggingIn: Promise<{ session: Session; result: LoginResult }>): Promise<void> {
    try {
      const { session, result } = await loggingIn;
      if (this.ws.readyState !== 1) return;
      // Checked again: another connection of the user may have logged in meanwhile.
      this.admit(session.userId);
      this.session = session;
      this.gw.services.chat.noteUser(session);
      // Subscribed on the bus before the reply: a client that syncs after its login misses nothing in between.
      await this.gw.hub.attach(session.userId, this);
      this.reply(id, result);
      void this.gw.services.presence.connected(session.userId, session.username);
    } catch (err) {
      this.fail(id, err);
    } finally {
      this.loggingIn = false;
    }
  }
}
