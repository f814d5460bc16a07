/** Row shapes and row-to-record mapping shared by the SQL adapters (the SQL itself differs). */
import type { StoredConversation, StoredMedia, StoredMessage, StoredPicture, SystemEvent } from '../ports/store.js';

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
    clientId: r.client_id, kind: r.kind as StoredMessage['kind'], text: r.body, sentAt: r.created_at,
  };
  if (r.meta) {
    if (r.kind === 'picture') m.picture = JSON.parse(r.meta) as StoredPicture;
    else m.system = JSON.parse(r.meta) as SystemEvent;
  }
  return m;
}

/** The picture a message keeps in its `meta`. */
export const pictureMeta = (m: StoredMedia): string => JSON.stringify({
  id: m.id, mime: m.mime, width: m.width, height: m.height, thumbWidth: m.thumbWidth, thumbHeight: m.thumbHeight, placeholder: m.placeholder,
} satisfies StoredPicture);

export interface MediaRow {
  id: string; uploader_id: number; blob_key: string; mime: string; size: number; width: number; height: number;
  thumb_key: string; thumb_width: number; thumb_height: number; placeholder: string; created_at: number; sent_at: number | null;
}

export const MEDIA_COLUMNS = 'id, uploader_id, blob_key, mime, size, width, height, thumb_key, thumb_width, thumb_height, placeholder, created_at, sent_at';

export const toStoredMedia = (r: MediaRow): StoredMedia => ({
  id: r.id, uploaderId: r.uploader_id, key: r.blob_key, mime: r.mime, size: r.size, width: r.width, height: r.height,
  thumbKey: r.thumb_key, thumbWidth: r.thumb_width, thumbHeight: r.thumb_height, placeholder: r.placeholder, createdAt: r.created_at, sentAt: r.sent_at,
});

/** The values of a media row, in MEDIA_COLUMNS order. */
export const mediaValues = (m: StoredMedia) => [
  m.id, m.uploaderId, m.key, m.mime, m.size, m.width, m.height, m.thumbKey, m.thumbWidth, m.thumbHeight, m.placeholder, m.createdAt, m.sentAt,
] as const;

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
