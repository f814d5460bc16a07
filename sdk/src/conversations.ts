import type { Conversation, Message } from '../../src/protocol/schemas.js';

/** A conversation as a UI renders it: metadata plus the messages loaded so far, in seq order. */
export interface ConversationView {
  readonly id: string;
  readonly kind: Conversation['kind'];
  readonly members: readonly string[];
  /** For a direct conversation, the other member (yourself for notes to self). */
  readonly peer: string | undefined;
  readonly lastSeq: number;
  readonly lastMessage: Message | undefined;
  readonly updatedAt: number;
  /** Loaded messages, ascending seq, each once. Live and synced messages are appended; history is prepended. */
  readonly messages: readonly Message[];
  /** false when older messages than the first loaded one may exist on the server. */
  readonly complete: boolean;
}

interface MutableConversation {
  id: string;
  kind: Conversation['kind'];
  members: string[];
  peer: string | undefined;
  lastSeq: number;
  lastMessage: Message | undefined;
  updatedAt: number;
  messages: Message[];
  complete: boolean;
}

/** The SDK's local model of the user's conversations. */
export class ConversationList {
  private readonly byId = new Map<string, MutableConversation>();

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

  /** Merges server metadata; returns the view. */
  upsert(c: Conversation): ConversationView {
    let conv = this.byId.get(c.id);
    const peer = c.kind === 'direct' ? (c.members.find((m) => m.toLowerCase() !== this.me.toLowerCase()) ?? this.me) : undefined;
    if (!conv) {
      conv = { id: c.id, kind: c.kind, members: [...c.members], peer, lastSeq: 0, lastMessage: undefined, updatedAt: 0, messages: [], complete: c.lastSeq === 0 };
      this.byId.set(c.id, conv);
    }
    conv.members = [...c.members];
    conv.peer = peer;
    if (c.lastSeq >= conv.lastSeq) {
      conv.lastSeq = c.lastSeq;
      conv.lastMessage = c.lastMessage ?? conv.lastMessage;
      conv.updatedAt = Math.max(conv.updatedAt, c.updatedAt);
    }
    return conv;
  }

  /** Adds a new message (live or synced) at the end. Returns the view, or undefined for an unknown conversation. */
  append(m: Message): ConversationView {
    let conv = this.byId.get(m.conversationId);
    if (!conv) {
      // First sight of a conversation (created while we were connected): its members are the sender and us until metadata arrives.
      const members = [...new Set([m.sender, this.me])];
      conv = this.upsert({ id: m.conversationId, kind: 'direct', members, lastSeq: 0, updatedAt: 0 }) as MutableConversation;
      conv.complete = m.seq === 1;
    }
    const last = conv.messages[conv.messages.length - 1];
    if (!last || m.seq > last.seq) conv.messages.push(m);
    if (m.seq >= conv.lastSeq) {
      conv.lastSeq = m.seq;
      conv.lastMessage = m;
      conv.updatedAt = Math.max(conv.updatedAt, m.sentAt);
    }
    return conv;
  }

  /** Adds an older page (from history) in front of the loaded messages. */
  prepend(id: string, older: Message[], hasMore: boolean): ConversationView | undefined {
    const conv = this.byId.get(id);
    if (!conv) return undefined;
    const first = conv.messages[0]?.seq ?? Number.MAX_SAFE_INTEGER;
    const page = older.filter((m) => m.seq < first);
    conv.messages.unshift(...page);
    if (!hasMore) conv.complete = true;
    return conv;
  }
}
