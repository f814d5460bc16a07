import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Config } from '../config.js';
import type { GroupChange, GroupOutcome, Recipient, Store, StoredConversation, StoredMessage, WriteItem, WriteOutcome } from '../ports/store.js';
import {
  type Conversation, type Message,
  type ConversationResult, type ConversationsResult, type HistoryResult,
  type SendParams, type SendResult, type SyncResult,
} from '../protocol/schemas.js';
import { decodeSyncToken, encodeSyncToken } from '../protocol/token.js';
import type { Hub, Sink } from './hub.js';
import { RateLimiter } from './rate-limit.js';
import { toConversation, toMessage, type PictureUrls } from './views.js';

import type { Session } from './accounts.js';
export type { Session } from './accounts.js';

interface PendingWrite {
  item: WriteItem;
  /** When the request reached the service (performance.now()). */
  receivedAt: number;
  origin: Sink | undefined;
  resolve(o: WriteOutcome): void;
  reject(e: unknown): void;
}

/** Unicode code points in `s`, counting only as far as `max + 1`. */
function codePointsOver(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

function fail(o: { code: 'not_found' | 'forbidden' | 'bad_request' | 'too_large'; message: string }): never {
  throw new AppError(o.code, o.message);
}

/**
 * The domain: log in, send, sync, history, conversations, groups and
 * receipts. Knows nothing of sockets or HTTP; edges call it with a Session and
 * turn AppErrors into replies.
 *
 * Writes are committed in batches: every send, read and delivered report that
 * arrives in one turn of the event loop goes into one store transaction; then
 * each change is fanned out and acknowledged. Nothing is acknowledged before
 * its batch has committed.
 */
export class ChatService {
  private readonly limiter: RateLimiter;
  private readonly userIds = new Map<string, number>();
  private queue: PendingWrite[] = [];
  private flushScheduled = false;
  private flushing = false;
  /** Plain counters, exported as metrics by the composition root. */
  readonly stats = { messagesStored: 0, duplicates: 0, batches: 0, batchItems: 0, syncRequests: 0 };

  constructor(
    private readonly store: Store,
    private readonly hub: Hub,
    readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Called with the milliseconds from a send's arrival to its pushes being written to local sockets and the bus. */
    private readonly observeDelivery: (ms: number) => void = () => {},
    /** Signs the URLs of picture messages each time one is serialised. */
    private readonly pictures?: PictureUrls,
  ) {
    this.limiter = new RateLimiter(config.sendRatePerSec, config.sendBurst, now);
  }

  // ------------------------------------------------------------ users

  /** Remembers a user who just logged in: sends to them then resolve without a query. */
  noteUser(session: Session): void {
    this.userIds.set(session.username.toLowerCase(), session.userId);
  }

  /** The id of a username; not_found when there is no such user. */
  async resolveUser(username: string): Promise<number> {
    const key = username.toLowerCase();
    const cached = this.userIds.get(key);
    if (cached !== undefined) return cached;
    const user = await this.store.findUserByName(username);
    if (!user) throw new AppError('not_found', `no user "${username}"`);
    this.userIds.set(key, user.id);
    return user.id;
  }

  // ------------------------------------------------------------ send

  /**
   * Stores a text message and fans it out. Resolves after commit with the
   * stored message; `origin` (the sending connection) gets no push of its own
   * message, only this result.
   */
  async send(session: Session, params: SendParams, origin?: Sink): Promise<SendResult> {
    const text = params.text;
    // A picture's caption may be empty; a text message may not.
    if (params.media === undefined && text.trim() === '') throw new AppError('bad_request', 'text must not be empty');
    if (codePointsOver(text, this.config.maxMessageChars)) {
      throw new AppError('too_large', `text is longer than ${this.config.maxMessageChars} characters`);
    }
    const wait = this.limiter.take(session.userId);
    if (wait > 0) throw new AppError('rate_limited', 'sending too fast', wait);

    const base = {
      kind: 'send' as const, senderId: session.userId, clientId: params.clientId, text, sentAt: 0,
      ...(params.media !== undefined ? { mediaId: params.media } : {}),
    };
    let outcome: WriteOutcome;
    if (!('to' in params)) {
      outcome = await this.enqueue({ ...base, target: { kind: 'conversation', conversationId: Number(params.conversationId) } }, origin);
    } else {
      // A cached recipient is queued synchronously, so sends of one connection keep their order.
      const cached = this.userIds.get(params.to.toLowerCase());
      const userId = cached ?? (await this.resolveUser(params.to));
      outcome = await this.enqueue({ ...base, target: { kind: 'user', userId } }, origin);
    }
    if (!outcome.ok) fail(outcome);
    if (outcome.kind !== 'send') throw new Error('unexpected outcome');
    const message = this.toMessage(outcome.message);
    if (outcome.duplicate) return { message, duplicate: true };
    const pos = outcome.recipients.find((r) => r.userId === session.userId)?.pos ?? 0;
    return { message, duplicate: false, pos, token: encodeSyncToken(pos) };
  }

  private enqueue(item: WriteItem, origin: Sink | undefined): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, origin, resolve, reject, receivedAt: performance.now() });
      this.scheduleFlush();
    });
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
    const at = this.now();
    for (const p of batch) {
      if (p.item.kind === 'send') p.item.sentAt = at;
      else p.item.at = at;
    }
    let outcomes: WriteOutcome[] = [];
    this.stats.batches++;
    this.stats.batchItems += batch.length;
    try {
      outcomes = await this.store.write(batch.map((p) => p.item));
    } catch {
      // Logged and counted by the store guard.
      const failure = new AppError('unavailable', 'the change could not be stored; retry (sends with the same clientId)');
      for (const p of batch) p.reject(failure);
    }
    // Fan out in commit order, and before the next batch: each user's events leave this node in position order.
    for (let i = 0; i < outcomes.length; i++) {
      const p = batch[i]!;
      const o = outcomes[i]!;
      try {
        await this.fanOut(p, o);
      } catch (err) {
        this.log.error({ err }, 'fan-out failed');
      }
      p.resolve(o);
    }
    this.flushing = false;
    if (this.queue.length > 0) this.scheduleFlush();
  }

  private async fanOut(p: PendingWrite, o: WriteOutcome): Promise<void> {
    if (!o.ok) return;
    if (o.kind === 'send') {
      if (o.duplicate) {
        this.stats.duplicates++;
        return;
      }
      this.stats.messagesStored++;
      this.deliverMessage(o.message, o.recipients, p.origin);
      this.observeDelivery(performance.now() - p.receivedAt);
      return;
    }
    if (!o.changed) return;
    const conversationId = String(o.conversationId);
    for (const r of o.others) {
      this.hub.deliver(r.userId, { type: 'receipt', pos: r.pos, token: encodeSyncToken(r.pos), conversationId, ...o.receipt });
    }
    const self = o.self;
    if (self) {
      // The reader's devices (this one included) learn the new read position and unread count.
      const c = await this.store.conversation(self.userId, o.conversationId);
      if (c) this.hub.deliver(self.userId, { type: 'conversation', pos: self.pos, token: encodeSyncToken(self.pos), conversation: this.toConversation(c) });
    }
  }

  private deliverMessage(m: StoredMessage, recipients: Recipient[], origin: Sink | undefined): void {
    const message = this.toMessage(m);
    for (const r of recipients) {
      this.hub.deliver(r.userId, { type: 'message', pos: r.pos, token: encodeSyncToken(r.pos), message }, origin);
    }
  }

  // ------------------------------------------------------------ receipts

  /** Moves the user's read position forward; all their devices and the other members are told. */
  async read(session: Session, conversationId: string, seq: number): Promise<ConversationResult> {
    const o = await this.enqueue({ kind: 'read', userId: session.userId, conversationId: Number(conversationId), seq, at: 0 }, undefined);
    if (!o.ok) fail(o);
    return this.conversationOf(session, conversationId);
  }

  /** Records that a device of the user has received messages up to `seq`. */
  async delivered(session: Session, conversationId: string, seq: number): Promise<Record<string, never>> {
    const o = await this.enqueue({ kind: 'delivered', userId: session.userId, conversationId: Number(conversationId), seq, at: 0 }, undefined);
    if (!o.ok) fail(o);
    return {};
  }

  // ------------------------------------------------------------ groups

  async createGroup(session: Session, title: string, members: string[]): Promise<ConversationResult> {
    const ids = await Promise.all(members.map((u) => this.resolveUser(u)));
    const o = await this.store.createGroup(session.userId, title.trim() || title, ids, this.config.maxGroupMembers, this.now());
    return this.afterGroupChange(session, o);
  }

  async changeGroup(session: Session, conversationId: string, change: { op: 'add'; users: string[] } | { op: 'remove'; user: string } | { op: 'leave' } | { op: 'rename'; title: string }): Promise<ConversationResult> {
    let c: GroupChange;
    switch (change.op) {
      case 'add': c = { op: 'add', userIds: await Promise.all(change.users.map((u) => this.resolveUser(u))) }; break;
      case 'remove': c = { op: 'remove', userId: await this.resolveUser(change.user) }; break;
      case 'leave': c = { op: 'leave' }; break;
      case 'rename': c = { op: 'rename', title: change.title }; break;
    }
    const o = await this.store.changeGroup(session.userId, Number(conversationId), c, this.config.maxGroupMembers, this.now());
    return this.afterGroupChange(session, o);
  }

  /** Pushes the system message, with each member's new view of the conversation, to every member. */
  private async afterGroupChange(session: Session, o: GroupOutcome): Promise<ConversationResult> {
    if (!o.ok) fail(o);
    const message = this.toMessage(o.message);
    for (const r of o.recipients) {
      const view = await this.store.conversation(r.userId, o.conversationId);
      const frame = { type: 'message' as const, pos: r.pos, token: encodeSyncToken(r.pos), message, ...(view ? { conversation: this.toConversation(view) } : {}) };
      this.hub.deliver(r.userId, frame);
    }
    return this.conversationOf(session, String(o.conversationId));
  }

  private async conversationOf(session: Session, conversationId: string): Promise<ConversationResult> {
    const c = await this.store.conversation(session.userId, Number(conversationId));
    if (!c) throw new AppError('not_found', 'no such conversation');
    return { conversation: this.toConversation(c) };
  }

  // ------------------------------------------------------------ reads

  async sync(session: Session, token: string | undefined, limit: number | undefined): Promise<SyncResult> {
    this.stats.syncRequests++;
    const pageSize = this.pageSize(limit);
    if (token === undefined) {
      const pos = await this.store.currentPos(session.userId);
      const convs = await this.store.conversations(session.userId, undefined, undefined, Math.min(pageSize, 100));
      return { messages: [], conversations: convs.map((c) => this.toConversation(c)), token: encodeSyncToken(pos), pos, hasMore: false };
    }
    const page = await this.store.sync(session.userId, this.decodeToken(token), pageSize);
    return {
      messages: page.messages.map((m) => this.toMessage(m)),
      conversations: page.conversations.map((c) => this.toConversation(c)),
      token: encodeSyncToken(page.pos),
      pos: page.pos,
      hasMore: page.hasMore,
    };
  }

  async history(session: Session, conversationId: string, before: number | undefined, limit: number | undefined): Promise<HistoryResult> {
    const page = await this.store.history(session.userId, Number(conversationId), before, this.pageSize(limit, 50));
    if (!page) throw new AppError('not_found', 'no such conversation');
    return { messages: page.messages.map((m) => this.toMessage(m)), hasMore: page.hasMore };
  }

  /** The home screen: conversations most recently changed first; with `since`, only those changed after that token. */
  async conversations(session: Session, opts: { since?: string; before?: string; limit?: number }): Promise<ConversationsResult> {
    const size = this.pageSize(opts.limit, 50);
    const since = opts.since === undefined ? undefined : this.decodeToken(opts.since);
    const convs = await this.store.conversations(session.userId, since, opts.before === undefined ? undefined : Number(opts.before), size);
    const out: ConversationsResult = { conversations: convs.map((c) => this.toConversation(c)) };
    const last = convs[convs.length - 1];
    if (convs.length === size && last) out.next = String(last.pos);
    return out;
  }

  private toMessage(m: StoredMessage): Message {
    return toMessage(m, this.pictures);
  }

  private toConversation(c: StoredConversation): Conversation {
    return toConversation(c, this.pictures);
  }

  private decodeToken(token: string): number {
    const pos = decodeSyncToken(token);
    if (pos === undefined) throw new AppError('bad_request', 'invalid sync token');
    return pos;
  }

  private pageSize(limit: number | undefined, def = 500): number {
    return Math.min(limit ?? def, this.config.pageSizeMax);
  }

  /** Writes still waiting for their batch (for draining). */
  get pendingWrites(): number {
    return this.queue.length + (this.flushing ? 1 : 0);
  }
}
