/** Store records to protocol shapes (ids become opaque strings). */
import type { StoredConversation, StoredMessage } from '../ports/store.js';
import type { Conversation, Message } from '../protocol/schemas.js';

export function toMessage(m: StoredMessage): Message {
  const out: Message = {
    id: String(m.id), conversationId: String(m.conversationId), seq: m.seq, sender: m.sender,
    clientId: m.clientId, kind: m.kind, text: m.text, sentAt: m.sentAt,
  };
  if (m.system) out.system = m.system;
  return out;
}

export function toConversation(c: StoredConversation): Conversation {
  const out: Conversation = {
    id: String(c.id), kind: c.kind, title: c.title, members: c.members, admins: c.admins,
    lastSeq: c.lastSeq, updatedAt: c.updatedAt, unread: c.unread, readSeq: c.readSeq, left: c.left, receipts: c.receipts,
  };
  if (c.lastMessage) out.lastMessage = toMessage(c.lastMessage);
  return out;
}
