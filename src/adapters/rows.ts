/** Row shapes and row-to-record mapping shared by the SQL adapters (the SQL itself differs). */
import type { StoredConversation, StoredMessage, SystemEvent } from '../ports/store.js';

export interface MessageRow {
  id: number; conv_id: number; seq: number; sender_id: number; client_id: string; kind: string; body: string; meta: string | null; created_at: number;
}

export interface MembershipRow {
  user_id: number; conv_id: number; kind: string; title: string | null; last_seq: number; updated_at: number;
  pos: number; read_seq: number; delivered_seq: number; unread: number; left_seq: number | null;
}

export interface MemberRow {
  username: string; user_id: number; role: string; read_seq: number; delivered_seq: number;
}

export const MESSAGE_COLUMNS = 'm.id, m.conv_id, m.seq, m.sender_id, m.client_id, m.kind, m.body, m.meta, m.created_at';
export const MEMBERSHIP_COLUMNS = 'mb.user_id, mb.conv_id, c.kind, c.title, c.last_seq, c.updated_at, mb.pos, mb.read_seq, mb.delivered_seq, mb.unread, mb.left_seq';

/** The seq of the last message the membership's user may see (capped at their removal). */
export const visibleLastSeq = (r: MembershipRow) => (r.left_seq !== null ? r.left_seq : r.last_seq);

export function toStoredMessage(r: MessageRow, sender: string): StoredMessage {
  const m: StoredMessage = {
    id: r.id, conversationId: r.conv_id, seq: r.seq, senderId: r.sender_id, sender,
    clientId: r.client_id, kind: r.kind as 'text' | 'system', text: r.body, sentAt: r.created_at,
  };
  if (r.meta) m.system = JSON.parse(r.meta) as SystemEvent;
  return m;
}

/** A conversation as the membership's user sees it, from its row, current members and last visible message. */
export function toStoredConversation(r: MembershipRow, members: MemberRow[], last: StoredMessage | undefined, ownName: string): StoredConversation {
  const group = r.kind === 'group';
  const peer = members.find((m) => m.user_id !== r.user_id)?.username ?? ownName;
  return {
    id: r.conv_id, kind: group ? 'group' : 'direct',
    title: group ? (r.title ?? '') : peer,
    members: members.map((m) => m.username),
    admins: group ? members.filter((m) => m.role === 'admin').map((m) => m.username) : [],
    lastSeq: visibleLastSeq(r), lastMessage: last, updatedAt: last?.sentAt ?? r.updated_at,
    unread: r.unread, readSeq: r.read_seq, left: r.left_seq !== null,
    receipts: members.filter((m) => m.user_id !== r.user_id).map((m) => ({ username: m.username, deliveredSeq: m.delivered_seq, readSeq: m.read_seq })),
    pos: r.pos,
  };
}
