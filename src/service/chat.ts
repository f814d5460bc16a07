import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Config } from '../config.js';
import type { AppendInput, AppendOutcome, Store, StoredConversation, StoredMessage } from '../ports/store.js';
import {
  PROTOCOL_VERSION,
  type Conversation, type ConversationsResult, type HistoryResult, type LoginResult, type Message,
  type SendParams, type SendResult, type SyncResult,
} from '../protocol/schemas.js';
import { decodeSyncToken, encodeSyncToken } from '../protocol/token.js';
import type { Hub, Sink } from './hub.js';
import { RateLimiter } from './rate-limit.js';

/** Who is behind a connection or an HTTP request. */
export interface Session {
  readonly userId: number;
  readonly username: string;
  readonly deviceId: number;
}

interface PendingSend {
  input: AppendInput;
  origin: Sink | undefined;
  resolve(r: SendResult): void;
  reject(e: unknown): void;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

export function toMessage(m: StoredMessage): Message {
  return {
    id: String(m.id), conversationId: String(m.conversationId), seq: m.seq, sender: m.sender,
    clientId: m.clientId, kind: m.kind, text: m.text, sentAt: m.sentAt,
  };
}

function toConversation(c: StoredConversation): Conversation {
  const out: Conversation = { id: String(c.id), kind: c.kind, members: c.members, lastSeq: c.lastSeq, updatedAt: c.updatedAt };
  if (c.lastMessage) out.lastMessage = toMessage(c.lastMessage);
  return out;
}

/** Unicode code points in `s`, counting only as far as `max + 1`. */
function codePointsOver(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

/**
 * The domain: log in, send, sync, history, conversations. Knows nothing of
 * sockets or HTTP; edges call it with a Session and turn AppErrors into
 * replies.
 *
 * Sends are committed in batches: every send that arrives in one turn of the
 * event loop goes into one store transaction, then each is fanned out and
 * acknowledged. Nothing is acknowledged before its batch has committed.
 */
export class ChatService {
  private readonly limiter: RateLimiter;
  private readonly userIds = new Map<string, number>();
  private queue: PendingSend[] = [];
  private flushScheduled = false;
  private flushing = false;

  constructor(
    private readonly store: Store,
    private readonly hub: Hub,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.limiter = new RateLimiter(config.sendRatePerSec, config.sendBurst, now);
  }

  // ------------------------------------------------------------ accounts

  async login(params: { username: string } | { token: string }): Promise<{ session: Session; result: LoginResult }> {
    const now = this.now();
    if ('token' in params) {
      const found = await this.store.findDevice(hashToken(params.token), now);
      if (!found) throw new AppError('unauthorized', 'unknown, expired or revoked token');
      await this.store.touchDevice(found.device.id, now);
      const session = { userId: found.user.id, username: found.user.username, deviceId: found.device.id };
      return { session, result: this.loginResult(session, params.token, true) };
    }
    const user = await this.store.upsertUser(params.username, now);
    const token = randomBytes(32).toString('base64url');
    const device = await this.store.createDevice(user.id, hashToken(token), now);
    this.userIds.set(user.username.toLowerCase(), user.id);
    const session = { userId: user.id, username: user.username, deviceId: device.id };
    return { session, result: this.loginResult(session, token, false) };
  }

  /** The session of a bearer token (HTTP). */
  async authenticate(token: string): Promise<Session> {
    const found = await this.store.findDevice(hashToken(token), this.now());
    if (!found) throw new AppError('unauthorized', 'unknown, expired or revoked token');
    return { userId: found.user.id, username: found.user.username, deviceId: found.device.id };
  }

  private loginResult(s: Session, token: string, resumed: boolean): LoginResult {
    return { user: { id: String(s.userId), username: s.username }, deviceId: String(s.deviceId), token, resumed, protocol: PROTOCOL_VERSION };
  }

  // ------------------------------------------------------------ send

  /**
   * Stores a text message and fans it out. Resolves after commit with the
   * stored message; `origin` (the sending connection) gets no push of its own
   * message, only this result.
   */
  async send(session: Session, params: SendParams, origin?: Sink): Promise<SendResult> {
    const text = params.text;
    if (text.trim() === '') throw new AppError('bad_request', 'text must not be empty');
    if (codePointsOver(text, this.config.maxMessageChars)) {
      throw new AppError('too_large', `text is longer than ${this.config.maxMessageChars} characters`);
    }
    const wait = this.limiter.take(session.userId);
    if (wait > 0) throw new AppError('rate_limited', 'sending too fast', wait);

    const enqueue = (target: AppendInput['target']) =>
      new Promise<SendResult>((resolve, reject) => {
        const input = { senderId: session.userId, clientId: params.clientId, target, text, sentAt: 0 };
        this.queue.push({ input, origin, resolve, reject });
        this.scheduleFlush();
      });
    if (!('to' in params)) return enqueue({ kind: 'conversation', conversationId: Number(params.conversationId) });
    // A cached recipient is queued synchronously, so sends of one connection keep their order.
    const cached = this.userIds.get(params.to.toLowerCase());
    if (cached !== undefined) return enqueue({ kind: 'user', userId: cached });
    return enqueue({ kind: 'user', userId: await this.resolveUser(params.to) });
  }

  private async resolveUser(username: string): Promise<number> {
    const key = username.toLowerCase();
    const cached = this.userIds.get(key);
    if (cached !== undefined) return cached;
    const user = await this.store.findUserByName(username);
    if (!user) throw new AppError('not_found', `no user "${username}"`);
    this.userIds.set(key, user.id);
    return user.id;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushing = true;
    const sentAt = this.now();
    for (const p of batch) p.input.sentAt = sentAt;
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.store.appendMessages(batch.map((p) => p.input));
    } catch (err) {
      this.log.error({ err, batch: batch.length }, 'storing messages failed');
      const failure = new AppError('unavailable', 'the message could not be stored; retry with the same clientId');
      for (const p of batch) p.reject(failure);
      outcomes = [];
    } finally {
      this.flushing = false;
    }
    for (let i = 0; i < outcomes.length; i++) this.complete(batch[i]!, outcomes[i]!);
    if (this.queue.length > 0) this.scheduleFlush();
  }

  private complete(p: PendingSend, o: AppendOutcome): void {
    if (!o.ok) {
      p.reject(new AppError('not_found', 'no such conversation'));
      return;
    }
    const message = toMessage(o.message);
    if (o.duplicate) {
      p.resolve({ message, duplicate: true });
      return;
    }
    let senderPos = 0;
    for (const r of o.recipients) {
      if (r.userId === p.input.senderId) senderPos = r.pos;
      this.hub.deliver(r.userId, { type: 'message', pos: r.pos, token: encodeSyncToken(r.pos), message }, p.origin);
    }
    p.resolve({ message, duplicate: false, pos: senderPos, token: encodeSyncToken(senderPos) });
  }

  // ------------------------------------------------------------ reads

  async sync(session: Session, token: string | undefined, limit: number | undefined): Promise<SyncResult> {
    const pageSize = this.pageSize(limit);
    if (token === undefined) {
      const pos = await this.store.currentPos(session.userId);
      const convs = await this.store.conversations(session.userId, undefined, Math.min(pageSize, 100));
      return { messages: [], conversations: convs.map(toConversation), token: encodeSyncToken(pos), pos, hasMore: false };
    }
    const after = decodeSyncToken(token);
    if (after === undefined) throw new AppError('bad_request', 'invalid sync token');
    const page = await this.store.sync(session.userId, after, pageSize);
    return {
      messages: page.messages.map(toMessage),
      conversations: page.conversations.map(toConversation),
      token: encodeSyncToken(page.pos),
      pos: page.pos,
      hasMore: page.hasMore,
    };
  }

  async history(session: Session, conversationId: string, before: number | undefined, limit: number | undefined): Promise<HistoryResult> {
    const page = await this.store.history(session.userId, Number(conversationId), before, this.pageSize(limit, 50));
    if (!page) throw new AppError('not_found', 'no such conversation');
    return { messages: page.messages.map(toMessage), hasMore: page.hasMore };
  }

  async conversations(session: Session, before: string | undefined, limit: number | undefined): Promise<ConversationsResult> {
    const size = this.pageSize(limit, 50);
    const convs = await this.store.conversations(session.userId, before === undefined ? undefined : Number(before), size);
    const out: ConversationsResult = { conversations: convs.map(toConversation) };
    const last = convs[convs.length - 1];
    if (convs.length === size && last) out.next = String(last.pos);
    return out;
  }

  private pageSize(limit: number | undefined, def = 500): number {
    return Math.min(limit ?? def, this.config.pageSizeMax);
  }

  /** Sends still waiting for their batch (for draining). */
  get pendingSends(): number {
    return this.queue.length + (this.flushing ? 1 : 0);
  }
}
