import type {
  Conversation, ConversationResult, ConversationsResult, HistoryResult, LoginResult, MediaInfo, MemberReceipt, Message, PresenceResult, ResultOf, SendResult, SyncResult,
} from '../../src/protocol/schemas.js';
import { Backoff } from './backoff.js';
import { ConversationList, messageStatus, type ConversationView, type MessageStatus } from './conversations.js';
import { Emitter } from './emitter.js';
import { MemoryStorage, type KeyValueStorage } from './storage.js';

/** The part of the WebSocket API the SDK uses: the browser's WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionState =
  /** Not started, or stopped with close(). */
  | 'idle'
  /** Opening the socket and logging in. */
  | 'connecting'
  /** Logged in, fetching what was missed; live events are held until it is done. */
  | 'syncing'
  /** Up to date; live. */
  | 'online'
  /** Lost the connection; a reconnect is scheduled. */
  | 'offline'
  /** Logged out for good: this device was revoked, its token expired with no password to renew it, or the credentials were refused. Nothing is retried; start again with new credentials. */
  | 'loggedOut';

export type SendTarget = { to: string } | { conversationId: string };

/** The bytes of a picture to upload. */
export type PictureData = Blob | ArrayBuffer | Uint8Array;

export interface UploadOptions {
  /**
   * Upload progress in bytes. In a browser (XMLHttpRequest) it is called as
   * the bytes go out; elsewhere (fetch) once, when the upload is complete.
   */
  onProgress?(sent: number, total: number): void;
  /**
   * How many times an upload refused with `unavailable` (the server busy
   * decoding other pictures, or its storage unreachable) is tried again,
   * after the server's `retryAfterMs`. Default 3; 0 turns it off.
   */
  retries?: number;
}

export interface ParleyClientOptions {
  /** WebSocket URL of the server, e.g. ws://localhost:8080/v1/ws. */
  url: string;
  /**
   * How to log in the first time. Later connections resume the stored session
   * token. `password` is needed when the server runs AUTH_MODE=password or the
   * account has one; with `register: true` the account is created first. The
   * password is kept in memory only (to renew an expired token), never in storage.
   */
  auth: { username: string; password?: string; register?: boolean; deviceName?: string } | { token: string };
  /** WebSocket implementation; defaults to globalThis.WebSocket (browsers, Node 22+). On Node 20 pass the `ws` package's default export. */
  WebSocket?: WebSocketConstructor;
  /** Where the session, sync token and outbox are kept. Default: memory. */
  storage?: KeyValueStorage;
  /** Interval of application pings; also how often liveness is checked. Default 15000. */
  heartbeatMs?: number;
  /** A connection with no frame for heartbeatMs + this is considered dead and replaced. Default 10000. */
  heartbeatTimeoutMs?: number;
  /** A request without a reply for this long drops the connection (it is then retried). Default 15000. */
  requestTimeoutMs?: number;
  /** Reconnect backoff: first bound and largest bound, in ms. Defaults 250 and 30000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Sync page size. Default 500. */
  syncPageSize?: number;
  /** Report received messages to the server (delivered receipts) this long after they arrive, batched. Default 200; 0 turns reports off. */
  deliveredDelayMs?: number;
}

export interface ClientEvents {
  /** A message in one of your conversations (your own sends included, once acknowledged). Each exactly once, per-conversation in seq order. */
  message: (message: Message, conversation: ConversationView) => void;
  /** A conversation's metadata or last message changed. */
  conversation: (conversation: ConversationView) => void;
  state: (state: ConnectionState) => void;
  /** Logged in (again); carries the server's answer. */
  login: (result: LoginResult) => void;
  /** A send from the outbox was refused for good (bad input, unknown user, ...). */
  sendFailed: (clientId: string, error: ParleyError) => void;
  /** Another member's delivered or read position moved: re-render your messages' ticks (see messageStatus). */
  receipt: (conversation: ConversationView, receipt: MemberReceipt) => void;
  /** Someone started or stopped typing in a conversation; the view's `typing` lists who is typing now. */
  typing: (conversation: ConversationView, user: string, active: boolean) => void;
  /** A user you share a conversation with came online or went offline. */
  presence: (user: string, online: boolean, lastActiveAt: number | undefined) => void;
  /** Logged out for good (state 'loggedOut'): revoked, expired, or refused credentials. The error says which. */
  loggedOut: (error: ParleyError) => void;
  /** Something went wrong that the SDK is handling (a dropped connection, a failed sync); for logs. */
  warning: (error: ParleyError) => void;
}

/** An error reply from the server (its stable `code`), or a local failure: `closed`, `timeout`. */
export class ParleyError extends Error {
  constructor(readonly code: string, message: string, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'ParleyError';
  }
}

/** A send waiting in the outbox for its acknowledgement (see pendingSends). */
export interface PendingSend {
  clientId: string;
  target: SendTarget;
  text: string;
  /** A picture message: the uploaded picture's id (`text` is its caption). */
  media?: string;
  /** When send() was called, ms since the epoch. */
  createdAt: number;
}
type OutboxItem = PendingSend;

/** The live events that carry the user's position: applied exactly once, in position order. */
type PushFrame =
  | { type: 'message'; pos: number; token: string; message: Message; conversation?: Conversation }
  | { type: 'conversation'; pos: number; token: string; conversation: Conversation }
  | ({ type: 'receipt'; pos: number; token: string; conversationId: string } & MemberReceipt);

interface Pending {
  resolve(v: unknown): void;
  reject(e: ParleyError): void;
  timer: ReturnType<typeof setTimeout>;
}

const RETRYABLE = new Set(['rate_limited', 'unavailable', 'internal', 'closed', 'timeout']);
const KEY_SESSION = 'session';
const KEY_SYNC = 'sync';
const KEY_OUTBOX = 'outbox';

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A connection to Parley that keeps the server's guarantees across flaky
 * networks, server restarts and deploys:
 *
 * - sends go to a persistent outbox and are retried with the same client id
 *   until acknowledged, so each is stored exactly once;
 * - after every (re)connect it resumes the device with its session token and
 *   syncs from its sync token before applying live events;
 * - live events carry the user's change position `pos`; a gap triggers a
 *   sync, a repeat is dropped, so the application sees each message once, in
 *   order;
 * - heartbeats detect a dead connection; reconnects back off exponentially
 *   with full jitter.
 */
export class ParleyClient extends Emitter<ClientEvents> {
  private readonly opts: Required<Omit<ParleyClientOptions, 'auth' | 'WebSocket' | 'storage' | 'backoff'>>;
  private readonly deliveredTo = new Map<string, number>();
  private deliveredTimer: ReturnType<typeof setTimeout> | undefined;
  private typingTimer: ReturnType<typeof setInterval> | undefined;
  private readonly WS: WebSocketConstructor;
  private readonly storage: KeyValueStorage;
  private readonly backoff: Backoff;
  private readonly model = new ConversationList('');
  private auth: ParleyClientOptions['auth'];

  private ws: WebSocketLike | undefined;
  private _state: ConnectionState = 'idle';
  private nextRequestId = 1;
  private readonly pending = new Map<string, Pending>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastFrameAt = 0;

  private session: LoginResult | undefined;
  private syncToken: string | undefined;
  private pos = 0;
  private syncing = false;
  private resyncWanted = false;
  private held: PushFrame[] = [];

  private outbox: OutboxItem[];
  private readonly inFlight = new Set<string>();
  private readonly waiters = new Map<string, { resolve(m: Message): void; reject(e: ParleyError): void }>();

  constructor(options: ParleyClientOptions) {
    super();
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new Error('No WebSocket implementation: pass options.WebSocket (for Node 20: the default export of the "ws" package)');
    this.WS = WS;
    this.auth = options.auth;
    this.storage = options.storage ?? new MemoryStorage();
    this.backoff = new Backoff(options.backoff?.initialMs, options.backoff?.maxMs);
    this.opts = {
      url: options.url,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      syncPageSize: options.syncPageSize ?? 500,
      deliveredDelayMs: options.deliveredDelayMs ?? 200,
    };
    const session = this.storage.get(KEY_SESSION);
    if (session) {
      this.session = JSON.parse(session) as LoginResult;
      this.model.setUser(this.session.user.username);
    }
    const sync = this.storage.get(KEY_SYNC);
    if (sync) ({ token: this.syncToken, pos: this.pos } = JSON.parse(sync) as { token: string; pos: number });
    this.outbox = JSON.parse(this.storage.get(KEY_OUTBOX) ?? '[]') as OutboxItem[];
  }

  // ------------------------------------------------------------------ public API

  get state(): ConnectionState {
    return this._state;
  }

  /** The logged-in user, once known. */
  get user(): LoginResult['user'] | undefined {
    return this.session?.user;
  }

  /** Sends waiting for their acknowledgement (persisted in storage). */
  get outboxSize(): number {
    return this.outbox.length;
  }

  /**
   * The sends waiting for their acknowledgement, oldest first, including
   * those restored from storage: a UI shows them as "sending" until the
   * `message` event (acknowledged) or `sendFailed` (refused for good).
   */
  pendingSends(): PendingSend[] {
    return this.outbox.map((o) => ({ ...o }));
  }

  /** Conversations known locally, most recently active first. */
  conversations(): ConversationView[] {
    return this.model.list();
  }

  conversation(id: string): ConversationView | undefined {
    return this.model.get(id);
  }

  /** Connects (and keeps reconnecting until close()). Resolves when first online; rejects if logged out first (refused credentials). */
  start(): Promise<void> {
    if (this._state === 'idle' || this._state === 'loggedOut') this.connect();
    this.typingTimer ??= setInterval(() => {
      for (const view of this.model.expireAll(Date.now())) this.emit('conversation', view);
    }, 1000);
    return this.whenOnline();
  }

  /** Resolves the next time the client is online (at once if it is); rejects when it is logged out instead. */
  whenOnline(): Promise<void> {
    if (this._state === 'online') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offOut = this.on('loggedOut', (e) => {
        offState();
        offOut();
        reject(e);
      });
      const offState = this.on('state', (s) => {
        if (s === 'online') {
          offState();
          offOut();
          resolve();
        }
      });
    });
  }

  /** Your devices (this one has `current: true`). */
  async devices(): Promise<ResultOf['devices']['devices']> {
    return (await this.request('devices')).devices;
  }

  /** Logs one of your devices out everywhere; its connections close and it cannot resume. */
  async revokeDevice(deviceId: string): Promise<void> {
    await this.request('revokeDevice', { deviceId });
  }

  /** Sets a new password (the current one is needed when there is one). Your other devices are logged out. */
  async changePassword(newPassword: string, oldPassword?: string): Promise<void> {
    await this.request('changePassword', oldPassword === undefined ? { newPassword } : { newPassword, oldPassword });
    if ('username' in this.auth && this.auth.password !== undefined) this.auth = { ...this.auth, password: newPassword };
  }

  /** Logs this device out on the server, forgets the session and stops. The outbox and sync position are dropped too. */
  async logout(): Promise<void> {
    try {
      await this.request('logout');
    } finally {
      this.loggedOut(new ParleyError('logged_out', 'logged out'));
    }
  }

  /** Stops: closes the socket, cancels timers. The outbox stays in storage for the next start(). */
  close(): void {
    this.setState('idle');
    this.shutDown('client closed', new ParleyError('closed', 'client closed'));
  }

  /**
   * Sends a text message. It is stored in the outbox first, so it survives a
   * disconnect (and, with a persistent storage, a crash) and is retried with
   * the same client id until the server acknowledges it. Resolves with the
   * stored message; rejects only when the server refuses it for good.
   */
  send(target: SendTarget, text: string, clientId: string = randomId()): Promise<Message> {
    return this.enqueue({ clientId, target, text, createdAt: Date.now() });
  }

  private enqueue(item: OutboxItem): Promise<Message> {
    const clientId = item.clientId;
    this.outbox.push(item);
    this.saveOutbox();
    const done = new Promise<Message>((resolve, reject) => this.waiters.set(clientId, { resolve, reject }));
    if (this._state === 'online' || this._state === 'syncing') this.transmit(item);
    return done;
  }

  /**
   * Uploads a picture over HTTP (to the server of the WebSocket URL, with the
   * session token) and resolves with what the server made of it: its id for
   * sendPicture, its size and a tiny placeholder to show at once. Needs a
   * logged-in session (after start()). A refusal with `unavailable` is tried
   * again (`opts.retries`, default 3) after the server's `retryAfterMs`.
   * Rejects with ParleyError: the server's code (`unsupported_media`,
   * `too_large`, `rate_limited`, `unavailable` after the retries, ...) or
   * `closed` when the server could not be reached.
   */
  async uploadPicture(data: PictureData, opts: UploadOptions = {}): Promise<MediaInfo> {
    const token = this.session?.token;
    if (!token) throw new ParleyError('unauthorized', 'not logged in yet: call start() first');
    const url = new URL('/v1/media', this.opts.url.replace(/^ws(s?):/i, 'http$1:')).toString();
    const total = data instanceof Blob ? data.size : data.byteLength;
    const XHR = (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;
    for (let attempt = 0; ; attempt++) {
      const { status, body } = XHR ? await xhrUpload(XHR, url, token, data, total, opts) : await fetchUpload(url, token, data, total, opts);
      if (status === 201) return (body as { media: MediaInfo }).media;
      const e = (body as { error?: { code: string; message: string; retryAfterMs?: number } } | undefined)?.error;
      const err = new ParleyError(e?.code ?? 'internal', e?.message ?? `upload failed with HTTP ${status}`, e?.retryAfterMs);
      // Nothing was stored: the same bytes can simply be sent again.
      if (err.code !== 'unavailable' || attempt >= (opts.retries ?? 3)) throw err;
      await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 1000));
    }
  }

  /**
   * Sends an uploaded picture (from uploadPicture) with an optional caption.
   * Like send(), it goes through the outbox and is retried with the same
   * client id until acknowledged. Only the uploader may send a picture: any
   * other id is refused with `not_found`.
   */
  sendPicture(target: SendTarget, mediaId: string, caption = '', clientId: string = randomId()): Promise<Message> {
    return this.enqueue({ clientId, target, text: caption, media: mediaId, createdAt: Date.now() });
  }

  /** Marks a conversation read up to `seq` (default: its last message) on all your devices; the other members see it. */
  async markRead(conversationId: string, seq?: number): Promise<ConversationView> {
    const target = seq ?? this.model.get(conversationId)?.lastSeq ?? 0;
    const r = await this.request('read', { conversationId, seq: target });
    return this.takeState(r.conversation);
  }

  /** Tells the other members you are typing (call again every few seconds while typing), or stopped. */
  async typing(conversationId: string, active = true): Promise<void> {
    await this.request('typing', { conversationId, active });
  }

  /** Sent / delivered / seen of one of your messages (in groups with counts). */
  status(message: Message): { status: MessageStatus; delivered: number; seen: number; of: number } {
    const conv = this.model.get(message.conversationId);
    return conv ? messageStatus(conv, message) : { status: 'sent', delivered: 0, seen: 0, of: 0 };
  }

  createGroup(title: string, members: string[]): Promise<ConversationView> {
    return this.request('createGroup', { title, members }).then((r) => this.takeState(r.conversation));
  }

  addMembers(conversationId: string, users: string[]): Promise<ConversationView> {
    return this.request('addMembers', { conversationId, users }).then((r) => this.takeState(r.conversation));
  }

  removeMember(conversationId: string, user: string): Promise<ConversationView> {
    return this.request('removeMember', { conversationId, user }).then((r) => this.takeState(r.conversation));
  }

  leave(conversationId: string): Promise<ConversationView> {
    return this.request('leave', { conversationId }).then((r) => this.takeState(r.conversation));
  }

  rename(conversationId: string, title: string): Promise<ConversationView> {
    return this.request('rename', { conversationId, title }).then((r) => this.takeState(r.conversation));
  }

  /** Online state and last activity of users you share a conversation with. */
  presence(users: string[]): Promise<PresenceResult> {
    return this.request('presence', { users });
  }

  private takeState(c: ConversationResult['conversation']): ConversationView {
    const view = this.model.upsert(c);
    this.emit('conversation', view);
    return view;
  }

  /** Loads older messages of a conversation (before the first loaded one) into the model and returns them. */
  async loadOlder(conversationId: string, limit = 50): Promise<HistoryResult> {
    const before = this.model.get(conversationId)?.messages[0]?.seq;
    const r = await this.request('history', before === undefined ? { conversationId, limit } : { conversationId, before, limit });
    const view = this.model.prepend(conversationId, r.messages, r.hasMore);
    if (view) this.emit('conversation', view);
    return r;
  }

  /** A page of history, without touching the model. */
  history(conversationId: string, opts: { before?: number; limit?: number } = {}): Promise<HistoryResult> {
    return this.request('history', { conversationId, ...opts });
  }

  /** Fetches a page of the conversation list from the server into the model. */
  async loadConversations(opts: { before?: string; limit?: number } = {}): Promise<ConversationsResult> {
    const r = await this.request('conversations', opts);
    for (const c of r.conversations) this.emit('conversation', this.model.upsert(c));
    return r;
  }

  /** Sends one request on the current connection. Rejects with ParleyError (server code, or `closed` / `timeout`). */
  request<K extends keyof ResultOf>(type: K, params: Record<string, unknown> = {}): Promise<ResultOf[K]> {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return Promise.reject(new ParleyError('closed', 'not connected'));
    const id = String(this.nextRequestId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ParleyError('timeout', `no reply to ${type} within ${this.opts.requestTimeoutMs} ms`));
        // A connection that leaves requests unanswered is not trusted any more.
        if (this.ws === ws) this.drop(ws, 'request timeout');
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ ...params, type, id }));
    });
  }

  // ------------------------------------------------------------------ connection lifecycle

  private setState(s: ConnectionState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }

  private connect(): void {
    this.setState('connecting');
    const ws = new this.WS(this.opts.url);
    this.ws = ws;
    ws.onopen = () => void this.onOpen(ws);
    ws.onmessage = (ev) => this.onFrame(ws, ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev.code);
    ws.onerror = () => { /* onclose follows */ };
  }

  private async onOpen(ws: WebSocketLike): Promise<void> {
    this.lastFrameAt = Date.now();
    this.startHeartbeat(ws);
    try {
      await this.login();
      this.setState('syncing');
      if (this.syncToken === undefined) {
        // First start: take the current position first, so our own sends land after it.
        await this.runSync();
        for (const item of this.outbox) this.transmit(item);
      } else {
        // Re-send the outbox right away (the server de-duplicates by client id); acks wait for the sync.
        for (const item of this.outbox) this.transmit(item);
        await this.runSync();
      }
      this.backoff.reset();
      if (this.ws === ws) this.setState('online');
    } catch (err) {
      const e = err instanceof ParleyError ? err : new ParleyError('internal', String(err));
      // Credentials the server refuses will be refused again: stop instead of retrying forever.
      if (this.ws === ws && !this.session && ['unauthorized', 'conflict', 'bad_request', 'forbidden'].includes(e.code)) return this.loggedOut(e);
      this.emit('warning', e);
      if (this.ws === ws) this.drop(ws, `start failed: ${e.code}`, e.retryAfterMs);
    }
  }

  private async login(): Promise<void> {
    let result: LoginResult;
    const auth = this.auth;
    const fresh = (): Promise<LoginResult> => {
      if ('token' in auth) return this.request('login', { token: auth.token });
      const params: Record<string, unknown> = { username: auth.username };
      if (auth.password !== undefined) params.password = auth.password;
      if (auth.deviceName !== undefined) params.deviceName = auth.deviceName;
      return this.request(auth.register ? 'register' : 'login', params);
    };
    if (this.session) {
      try {
        result = await this.request('login', { token: this.session.token });
      } catch (err) {
        if (!(err instanceof ParleyError) || err.code !== 'unauthorized' || !('username' in auth)) throw err;
        // The stored token expired (or the server forgot it): log in again as a new device,
        // with the password when we have one. The sync token stays valid: positions belong
        // to the user, not the device.
        result = await this.request('login', auth.password === undefined ? { username: auth.username } : { username: auth.username, password: auth.password });
      }
    } else {
      result = await fresh();
    }
    // Registered once: later fresh log-ins are plain log-ins.
    if ('username' in auth && auth.register) this.auth = { ...auth, register: false };
    this.session = result;
    this.storage.set(KEY_SESSION, JSON.stringify(result));
    this.model.setUser(result.user.username);
    this.emit('login', result);
  }

  private onClose(ws: WebSocketLike, code: number): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.detach(ws);
    if (code === 4001) return this.loggedOut(new ParleyError('revoked', 'this device was logged out'));
    this.afterDisconnect(code === 1013 ? 1000 : 0, `closed with ${code}`);
  }

  /**
   * The end of this device's session: forget the token, the password, the
   * outbox and the sync position, stop reconnecting, and say so.
   */
  private loggedOut(error: ParleyError): void {
    this.session = undefined;
    this.syncToken = undefined;
    this.pos = 0;
    this.outbox = [];
    this.storage.delete(KEY_SESSION);
    this.storage.delete(KEY_SYNC);
    this.storage.delete(KEY_OUTBOX);
    if ('username' in this.auth) this.auth = { username: this.auth.username };
    for (const w of this.waiters.values()) w.reject(error);
    this.waiters.clear();
    this.shutDown('logged out', error);
    this.setState('loggedOut');
    this.emit('loggedOut', error);
  }

  /** Abandons a connection without waiting for a close handshake (which a dead link never completes). */
  private drop(ws: WebSocketLike, why: string, floorMs = 0): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.detach(ws);
    const terminate = (ws as { terminate?: () => void }).terminate;
    if (terminate) terminate.call(ws);
    else ws.close(4000, why.slice(0, 100));
    this.afterDisconnect(floorMs, why);
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
  }

  /** Cancels every timer, closes the socket and fails the requests in flight. */
  private shutDown(reason: string, error: ParleyError): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.deliveredTimer);
    clearInterval(this.typingTimer);
    this.typingTimer = undefined;
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      this.detach(ws);
      ws.close(1000, reason);
    }
    this.failPending(error);
  }

  private afterDisconnect(floorMs: number, why: string): void {
    this.stopHeartbeat();
    this.failPending(new ParleyError('closed', `connection lost (${why})`));
    this.inFlight.clear();
    this.syncing = false;
    this.held = [];
    if (this._state === 'idle') return;
    this.setState('offline');
    const delay = this.backoff.next(floorMs);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private failPending(err: ParleyError): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private startHeartbeat(ws: WebSocketLike): void {
    this.stopHeartbeat();
    const { heartbeatMs, heartbeatTimeoutMs } = this.opts;
    this.heartbeatTimer = setInterval(() => {
      if (this.ws !== ws) return;
      if (Date.now() - this.lastFrameAt > heartbeatMs + heartbeatTimeoutMs) {
        this.drop(ws, 'heartbeat timeout');
        return;
      }
      this.request('ping').catch(() => { /* the liveness check above decides */ });
    }, heartbeatMs);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  // ------------------------------------------------------------------ frames, sync and ordering

  private onFrame(ws: WebSocketLike, data: unknown): void {
    if (this.ws !== ws) return;
    this.lastFrameAt = Date.now();
    let frame: { type?: string; id?: string | null; result?: unknown; error?: { code: string; message: string; retryAfterMs?: number } };
    try {
      frame = JSON.parse(String(data)) as typeof frame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'result':
      case 'error': {
        const p = frame.id == null ? undefined : this.pending.get(frame.id);
        if (!p) return;
        this.pending.delete(frame.id!);
        clearTimeout(p.timer);
        if (frame.type === 'result') p.resolve(frame.result);
        else p.reject(new ParleyError(frame.error!.code, frame.error!.message, frame.error!.retryAfterMs));
        return;
      }
      case 'message':
      case 'conversation':
      case 'receipt':
        this.onPush(frame as unknown as PushFrame);
        return;
      case 'typing': {
        const t = frame as unknown as { conversationId: string; user: string; active: boolean; expiresInMs: number };
        const view = this.model.typing(t.conversationId, t.user, t.active, Date.now() + t.expiresInMs);
        if (view) this.emit('typing', view, t.user, t.active);
        return;
      }
      case 'presence': {
        const p = frame as unknown as { user: string; online: boolean; lastActiveAt?: number };
        this.emit('presence', p.user, p.online, p.lastActiveAt);
        return;
      }
      default:
        // Frames this version does not know are ignored, so newer servers can add them.
        return;
    }
  }

  /** Applies a change with position `pos` exactly once, in order; a gap starts a sync. */
  private onPush(p: PushFrame): void {
    if (this.syncing) {
      this.held.push(p);
      return;
    }
    if (p.pos <= this.pos) return;
    if (p.pos === this.pos + 1) {
      this.applyPush(p);
      this.advance(p.pos, p.token);
      return;
    }
    this.held.push(p);
    void this.runSync().catch((e: unknown) => this.emit('warning', e as ParleyError));
  }

  private applyPush(p: PushFrame): void {
    switch (p.type) {
      case 'message':
        if (p.conversation) this.model.upsert(p.conversation);
        this.apply(p.message);
        return;
      case 'conversation':
        this.emit('conversation', this.model.upsert(p.conversation));
        return;
      case 'receipt': {
        const r = { username: p.username, deliveredSeq: p.deliveredSeq, readSeq: p.readSeq };
        const view = this.model.receipt(p.conversationId, r);
        if (view) this.emit('receipt', view, r);
        return;
      }
    }
  }

  private apply(m: Message): void {
    const view = this.model.append(m);
    this.emit('message', m, view);
    this.emit('conversation', view);
    if (m.sender !== this.session?.user.username) this.noteDelivered(m);
  }

  /** Batches delivered receipts: one report per conversation with its highest seq. */
  private noteDelivered(m: Message): void {
    if (this.opts.deliveredDelayMs <= 0) return;
    if ((this.deliveredTo.get(m.conversationId) ?? 0) >= m.seq) return;
    this.deliveredTo.set(m.conversationId, m.seq);
    this.deliveredTimer ??= setTimeout(() => {
      this.deliveredTimer = undefined;
      const reports = [...this.deliveredTo];
      this.deliveredTo.clear();
      for (const [conversationId, seq] of reports) {
        this.request('delivered', { conversationId, seq }).catch(() => { /* best effort: the next message reports again */ });
      }
    }, this.opts.deliveredDelayMs);
  }

  private advance(pos: number, token: string): void {
    this.pos = pos;
    this.syncToken = token;
    this.storage.set(KEY_SYNC, JSON.stringify({ token, pos }));
  }

  /** Fetches everything after the sync token, then applies held live events that are still new. */
  private async runSync(): Promise<void> {
    if (this.syncing) {
      this.resyncWanted = true;
      return;
    }
    this.syncing = true;
    try {
      do {
        this.resyncWanted = false;
        if (this.syncToken === undefined) {
          // A new device: start from now, with the most recent conversations; history loads lazily.
          const r = await this.request('sync', {});
          for (const c of r.conversations) this.emit('conversation', this.model.upsert(c));
          this.advance(r.pos, r.token);
        } else {
          let r: SyncResult;
          do {
            r = await this.request('sync', { token: this.syncToken, limit: this.opts.syncPageSize });
            // States first: they are current, so the page's messages are not counted as unread twice.
            for (const c of r.conversations) this.model.upsert(c);
            for (const m of r.messages) this.apply(m);
            for (const c of r.conversations) this.emit('conversation', this.model.get(c.id)!);
            this.advance(r.pos, r.token);
          } while (r.hasMore);
        }
        const held = this.held.sort((a, b) => a.pos - b.pos);
        this.held = [];
        for (const p of held) {
          if (p.pos <= this.pos) continue;
          if (p.pos !== this.pos + 1) {
            this.resyncWanted = true;
            break;
          }
          this.applyPush(p);
          this.advance(p.pos, p.token);
        }
      } while (this.resyncWanted);
    } finally {
      this.syncing = false;
    }
  }

  // ------------------------------------------------------------------ outbox

  private transmit(item: OutboxItem): void {
    if (this.inFlight.has(item.clientId)) return;
    this.inFlight.add(item.clientId);
    this.request('send', { ...item.target, text: item.text, clientId: item.clientId, ...(item.media === undefined ? {} : { media: item.media }) }).then(
      (r) => this.acked(item, r),
      (err: ParleyError) => this.sendError(item, err),
    );
  }

  private acked(item: OutboxItem, r: SendResult): void {
    this.inFlight.delete(item.clientId);
    this.removeFromOutbox(item.clientId);
    if ('to' in item.target) this.model.expectDirect(r.message.conversationId, item.target.to);
    // Our own message is a change at our position like any push.
    if (r.pos !== undefined && r.token !== undefined) this.onPush({ type: 'message', pos: r.pos, token: r.token, message: r.message });
    this.waiters.get(item.clientId)?.resolve(r.message);
    this.waiters.delete(item.clientId);
  }

  private sendError(item: OutboxItem, err: ParleyError): void {
    this.inFlight.delete(item.clientId);
    if (err.code === 'closed' || err.code === 'timeout') return; // re-sent after the reconnect
    if (RETRYABLE.has(err.code)) {
      const delay = err.retryAfterMs ?? this.backoff.next();
      setTimeout(() => {
        if (this.outbox.includes(item) && (this._state === 'online' || this._state === 'syncing')) this.transmit(item);
      }, delay);
      return;
    }
    this.removeFromOutbox(item.clientId);
    this.emit('sendFailed', item.clientId, err);
    this.waiters.get(item.clientId)?.reject(err);
    this.waiters.delete(item.clientId);
  }

  private removeFromOutbox(clientId: string): void {
    const i = this.outbox.findIndex((o) => o.clientId === clientId);
    if (i < 0) return;
    this.outbox.splice(i, 1);
    this.saveOutbox();
  }

  private saveOutbox(): void {
    this.storage.set(KEY_OUTBOX, JSON.stringify(this.outbox));
  }
}

type UploadReply = { status: number; body: unknown };

/** The slice of the browser's XMLHttpRequest the upload uses (the SDK is compiled without the DOM types). */
interface XhrLike {
  readonly status: number;
  readonly responseText: string;
  readonly upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Blob | ArrayBuffer): void;
}
type XhrConstructor = new () => XhrLike;

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Bytes as a request body that the DOM's typings (the web app checks the SDK with them) and Node's both accept. */
function asBody(data: PictureData): Blob | ArrayBuffer {
  return data instanceof Uint8Array ? new Blob([data as Uint8Array<ArrayBuffer>]) : data;
}

/** A browser upload with progress events. */
function xhrUpload(XHR: XhrConstructor, url: string, token: string, data: PictureData, total: number, opts: UploadOptions): Promise<UploadReply> {
  return new Promise((resolve, reject) => {
    const xhr = new XHR();
    xhr.open('POST', url);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    if (opts.onProgress) xhr.upload.onprogress = (e) => opts.onProgress!(e.loaded, e.lengthComputable ? e.total : total);
    xhr.onload = () => resolve({ status: xhr.status, body: parseBody(xhr.responseText) });
    xhr.onerror = () => reject(new ParleyError('closed', 'upload failed: the server could not be reached'));
    xhr.onabort = xhr.onerror;
    xhr.send(asBody(data));
  });
}

/** An upload with fetch (Node, workers): progress is reported once, at the end. */
async function fetchUpload(url: string, token: string, data: PictureData, total: number, opts: UploadOptions): Promise<UploadReply> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: asBody(data) });
  } catch (err) {
    throw new ParleyError('closed', `upload failed: ${(err as Error).message}`);
  }
  const body = parseBody(await res.text());
  if (res.ok) opts.onProgress?.(total, total);
  return { status: res.status, body };
}
