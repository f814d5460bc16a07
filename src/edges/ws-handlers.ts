/** What each logged-in request frame does: a thin translation into service calls. */
import type { ClientFrame } from '../protocol/schemas.js';
import type { AccountService } from '../service/accounts.js';
import type { ChatService, Session } from '../service/chat.js';
import type { Sink } from '../service/hub.js';
import type { MediaService } from '../service/media.js';
import type { PresenceService } from '../service/presence.js';
import type { TypingService } from '../service/typing.js';

export interface Services {
  accounts: AccountService;
  chat: ChatService;
  presence: PresenceService;
  typing: TypingService;
  media: MediaService;
}

type SessionFrame = Exclude<ClientFrame, { type: 'login' } | { type: 'register' } | { type: 'ping' }>;

export async function handle(s: Services, session: Session, frame: SessionFrame, origin: Sink, address: string): Promise<unknown> {
  const chat = s.chat;
  switch (frame.type) {
    case 'logout':
      return s.accounts.logout(session);
    case 'devices':
      return { devices: await s.accounts.devices(session) };
    case 'revokeDevice':
      return s.accounts.revokeDevice(session, frame.deviceId);
    case 'changePassword':
      return s.accounts.changePassword(session, { oldPassword: frame.oldPassword, newPassword: frame.newPassword }, address);
    case 'send': {
      const media = frame.media === undefined ? {} : { media: frame.media };
      return chat.send(session, 'to' in frame
        ? { clientId: frame.clientId, to: frame.to, text: frame.text, ...media }
        : { clientId: frame.clientId, conversationId: frame.conversationId, text: frame.text, ...media }, origin);
    }
    case 'sync':
      return chat.sync(session, frame.token, frame.limit);
    case 'history':
      return chat.history(session, frame.conversationId, frame.before, frame.limit);
    case 'conversations':
      return chat.conversations(session, { since: frame.since, before: frame.before, limit: frame.limit });
    case 'createGroup':
      return chat.createGroup(session, frame.title, frame.members);
    case 'addMembers':
      return chat.changeGroup(session, frame.conversationId, { op: 'add', users: frame.users });
    case 'removeMember':
      return chat.changeGroup(session, frame.conversationId, { op: 'remove', user: frame.user });
    case 'leave':
      return chat.changeGroup(session, frame.conversationId, { op: 'leave' });
    case 'rename':
      return chat.changeGroup(session, frame.conversationId, { op: 'rename', title: frame.title });
    case 'read':
      return chat.read(session, frame.conversationId, frame.seq);
    case 'delivered':
      return chat.delivered(session, frame.conversationId, frame.seq);
    case 'typing':
      return s.typing.typing(session, frame.conversationId, frame.active ?? true);
    case 'presence': {
      const users = await Promise.all(frame.users.map(async (username) => {
        try {
          return { id: await chat.resolveUser(username), username };
        } catch {
          return undefined; // unknown users are left out, like strangers
        }
      }));
      return s.presence.query(session.userId, users.filter((u): u is { id: number; username: string } => !!u));
    }
  }
}
