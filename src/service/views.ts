/** Store records to protocol shapes (ids become opaque strings). */
import type { StoredConversation, StoredMessage, StoredPicture } from '../ports/store.js';
import type { Conversation, Message, Picture } from '../protocol/schemas.js';

/** Signs a stored picture's URLs for the reader at the moment a message is serialised (never stored). */
export interface PictureUrls {
  sign(p: StoredPicture): Picture;
}

export function toMessage(m: StoredMessage, pictures?: PictureUrls): Message {
  const out: Message = {
    id: String(m.id), conversationId: String(m.conversationId), seq: m.seq, sender: m.sender,
    clientId: m.clientId, kind: m.kind, text: m.text, sentAt: m.sentAt,
  };
  if (m.system) out.system = m.system;
  if (m.picture && pictures) out.picture = pictures.sign(m.picture);
  return out;
}

export function toConversation(c: StoredConversation, pictures?: PictureUrls): Conversation {
  const out: Conversation = {
    id: String(c.id), kind: c.kind, title: c.title, members: c.members, admins: c.admins,
    lastSeq: c.lastSeq, updatedAt: c.updatedAt, unread: c.unread, readSeq: c.readSeq, left: c.left, receipts: c.receipts,
  };
  if (c.lastMessage) out.lastMessage = toMessage(c.lastMessage, pictures);
  return out;
}
