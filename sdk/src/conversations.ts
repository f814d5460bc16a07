import type { Conversation, MemberReceipt, Message } from '../../src/protocol/schemas.js';

/** Delivery state of one of your own messages, as a chat UI shows it. */
export type MessageStatus = 'sent' | 'delivered' | 'seen';

/** A conversation as a UI renders it: the server's state plus the messages loaded so far, in seq order. */
export interface ConversationView {
  readonly id: string;
  readonly kind: Conversation['kind'];
  /** Group title, or the other member of a direct conversation. */
  readonly title: string;
  readonly members: readonly string[];
  readonly admins: readonly string[];
  readonly lastSeq: number;
  readonly lastMessage: Message | undefined;
  readonly updatedAt: number;
  /** Messages from others after your read position; the same on all your devices. */
  readonly unread: number;
  readonly readSeq: number;
  /** You were removed or left: history up to then, nothing after. */
  readonly left: boolean;
  /** Other members' delivered and read positions. */
  readonly receipts: readonly MemberReceipt[];
  /** Loaded messages, ascending seq, each once. Live and synced messages are appended; history is prepended. */
  readonly messages: readonly Message[];
  /** false when older messages than the first loaded one may exist on the server. */
  readonly complete: boolean;
  /** Users typing right now (expires by itself). */
  readonly typing: readonly string[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };
type Conv = Mutable<ConversationView> & { typingUntil: Map<string, number> };

/** The SDK's local model of the user's conversations. */
export class ConversationList {
  private readonly byId = new Map<string, Conv>();
  /** The other member of direct conversations you started, until their state arrives. */
  private readonly peers = new Map<string, string>();

  constructor(private me: string) {}

  setUser(username: string): void {
    this.me = username;
  }

  get(id: string): ConversationView | undefined {
    return this.byId.get(id);
  }

  /** Most recently active first. */
  list(): ConversationView[] {
    return [...this.byId.values()].sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** Takes the server's current state of a conversation. */
  upsert(c: Conversation): ConversationView {
    let conv = this.byId.get(c.id);
    if (!conv) {
      conv = { ...c, lastMessage: c.lastMessage, messages: [], complete: c.lastSeq === 0, typing: [], typingUntil: new Map(), admins: [...c.admins], members: [...c.members], receipts: [...c.receipts] };
      this.byId.set(c.id, conv);
      return conv;
    }
    Object.assign(conv, {
      kind: c.kind, title: c.title, members: [...c.members], admins: [...c.admins], unread: c.unread, readSeq: c.readSeq,
      left: c.left, receipts: [...c.receipts],
    });
    if (c.lastSeq >= conv.lastSeq) {
      conv.lastSeq = c.lastSeq;
      conv.lastMessage = c.lastMessage ?? conv.lastMessage;
      conv.updatedAt = Math.max(conv.updatedAt, c.updatedAt);
    }
    return conv;
  }

  /** Notes who a direct conversation is with, for your own first message in it (its ack names no peer). */
  expectDirect(conversationId: string, peer: string): void {
    if (!this.byId.has(conversationId)) this.peers.set(conversationId, peer);
  }

  /** Adds a new message (live or synced) at the end. */
  append(m: Message): ConversationView {
    let conv = this.byId.get(m.conversationId);
    if (!conv) {
      // A direct conversation someone just started; its full state comes with the next sync.
      const mine = m.sender.toLowerCase() === this.me.toLowerCase();
      const other = mine ? this.peers.get(m.conversationId) ?? this.me : m.sender;
      this.peers.delete(m.conversationId);
      const members = [...new Set([other, this.me])];
      conv = this.upsert({
        id: m.conversationId, kind: 'direct', title: other, members, admins: [], lastSeq: m.seq - 1,
        updatedAt: 0, unread: 0, readSeq: 0, left: false, receipts: [],
      }) as Conv;
      conv.complete = m.seq === 1;
    }
    const last = conv.messages[conv.messages.length - 1];
    if (!last || m.seq > last.seq) conv.messages.push(m);
    const mine = m.sender.toLowerCase() === this.me.toLowerCase();
    if (m.seq > conv.lastSeq) {
      // Newer than the state we hold: count it ourselves (a state from the server already counts what it covers).
      if (mine) {
        conv.unread = 0;
        conv.readSeq = m.seq;
      } else if (m.seq > conv.readSeq) {
        conv.unread++;
      }
    }
    if (m.seq >= conv.lastSeq) {
      conv.lastSeq = m.seq;
      conv.lastMessage = m;
      conv.updatedAt = Math.max(conv.updatedAt, m.sentAt);
    }
    conv.typingUntil.delete(m.sender);
    conv.typing = [...conv.typingUntil.keys()];
    return conv;
  }

  /** Adds an older page (from history) in front of the loaded messages. */
  prepend(id: string, older: Message[], hasMore: boolean): ConversationView | undefined {
    const conv = this.byId.get(id);
    if (!conv) return undefined;
    const first = conv.messages[0]?.seq ?? Number.MAX_SAFE_INTEGER;
    conv.messages.unshift(...older.filter((m) => m.seq < first));
    if (!hasMore) conv.complete = true;
    return conv;
  }

  receipt(conversationId: string, r: MemberReceipt): ConversationView | undefined {
    const conv = this.byId.get(conversationId);
    if (!conv) return undefined;
    const i = conv.receipts.findIndex((x) => x.username === r.username);
    if (i >= 0) conv.receipts[i] = r;
    else conv.receipts.push(r);
    return conv;
  }

  typing(conversationId: string, user: string, active: boolean, until: number): ConversationView | undefined {
    const conv = this.byId.get(conversationId);
    if (!conv) return undefined;
    if (active) conv.typingUntil.set(user, until);
    else conv.typingUntil.delete(user);
    this.expireTyping(conv, Date.now());
    return conv;
  }

  /** Drops expired typing indicators; returns the conversations that changed. */
  expireAll(now: number): ConversationView[] {
    const changed: ConversationView[] = [];
    for (const conv of this.byId.values()) if (conv.typingUntil.size > 0 && this.expireTyping(conv, now)) changed.push(conv);
    return changed;
  }

  private expireTyping(conv: Conv, now: number): boolean {
    let changed = false;
    for (const [u, t] of conv.typingUntil) if (t <= now) { conv.typingUntil.delete(u); changed = true; }
    conv.typing = [...conv.typingUntil.keys()];
    return changed;
  }
}

/**
 * Sent / delivered / seen for one of your messages. In a group, `seen` means
 * every other member has seen it; the counts say how many have.
 */
export function messageStatus(conv: ConversationView, m: Pick<Message, 'seq'>): { status: MessageStatus; delivered: number; seen: number; of: number } {
  const others = conv.receipts;
  const delivered = others.filter((r) => r.deliveredSeq >= m.seq || r.readSeq >= m.seq).length;
  const seen = others.filter((r) => r.readSeq >= m.seq).length;
  const of = others.length;
  const status: MessageStatus = of > 0 && seen === of ? 'seen' : of > 0 && delivered === of ? 'delivered' : 'sent';
  return { status, delivered, seen, of };
}
