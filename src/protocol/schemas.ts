/**
 * The wire contract, described once. TypeBox schemas give the TypeScript
 * types (Static<>), the runtime validators (Ajv, see validate.ts) and the
 * documentation (served at /v1/protocol.json and used in the OpenAPI
 * document). The SDK imports this module; it depends on nothing of the server.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------- values

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  description: '3 to 32 characters: letters, digits, "_", "." and "-", starting with a letter or digit. Unique regardless of case.',
});
export const RequestId = Type.String({ minLength: 1, maxLength: 64, description: 'Chosen by the client; the reply carries it back.' });
export const ClientMessageId = Type.String({ minLength: 1, maxLength: 64, description: 'Chosen by the client, unique per sender; a retried send with the same id returns the original message.' });
export const ConversationId = Type.String({ pattern: '^[0-9]{1,15}$', description: 'Opaque conversation id.' });
export const SyncToken = Type.String({ minLength: 1, maxLength: 64, description: 'Opaque sync token; resume from it with `sync`.' });
export const SessionToken = Type.String({ minLength: 16, maxLength: 128, description: 'Secret session token of one device.' });
export const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Per-conversation sequence number: 1, 2, 3, ... without gaps.' });
export const ProtocolLevel = Type.Integer({ minimum: 1, maximum: 1000, description: "The client's protocol level (see docs/protocol.md, Versions)." });
export const Limit = Type.Integer({ minimum: 1, maximum: 10000, description: 'Page size; capped by the server (PAGE_SIZE_MAX).' });

export const Password = Type.String({ minLength: 1, maxLength: 256, description: 'The account password.' });
export const NewPassword = Type.String({ minLength: 8, maxLength: 256, description: 'A new password: 8 to 256 characters.' });
export const DeviceName = Type.String({ minLength: 1, maxLength: 64, description: 'A label for this device in your device list ("Firefox on the laptop").' });
export const DeviceId = Type.String({ pattern: '^[0-9]{1,15}$', description: 'Id of one of your devices.' });
export const AuthMode = Type.Union([Type.Literal('open'), Type.Literal('password')], { description: '`open`: a username alone logs in (accounts that set a password need it); `password`: register and log in with a password.' });

export const GroupTitle = Type.String({ minLength: 1, maxLength: 100, description: 'Group title, 1 to 100 characters.' });

export const SystemEvent = Type.Object({
  event: Type.Union([Type.Literal('created'), Type.Literal('added'), Type.Literal('removed'), Type.Literal('left'), Type.Literal('renamed')]),
  actor: Username,
  users: Type.Optional(Type.Array(Username, { description: 'Who was added or removed.' })),
  title: Type.Optional(GroupTitle),
}, { description: 'What a system message records: a change of membership or title.' });
export type SystemEvent = Static<typeof SystemEvent>;

export const MediaId = Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', description: 'Opaque id of an uploaded picture (from POST /v1/media).' });

export const Placeholder = Type.String({ maxLength: 1400, description: 'A tiny preview (about 16 px on the long side) as a `data:image/webp;base64,...` URL, under 1 KB: draw it stretched and blurred until the picture arrives.' });

export const Picture = Type.Object({
  id: MediaId,
  mime: Type.String({ description: 'Content type of the picture at `url` (decided from its content): image/jpeg, image/png or image/webp.' }),
  width: Type.Integer({ minimum: 1, description: 'Width in pixels, after the camera orientation was applied.' }),
  height: Type.Integer({ minimum: 1 }),
  placeholder: Placeholder,
  url: Type.String({ description: 'Signed, expiring relative URL of the picture (`/v1/media/{id}?expires=...&sig=...`); works without an Authorization header.' }),
  thumbUrl: Type.String({ description: 'Signed, expiring relative URL of the WebP thumbnail (`/v1/media/{id}/thumb?...`).' }),
  thumbWidth: Type.Integer({ minimum: 1 }),
  thumbHeight: Type.Integer({ minimum: 1 }),
  expiresAt: Type.Integer({ description: 'When `url` and `thumbUrl` stop working, ms since the epoch. Fetch the message again (history, sync) for fresh ones.' }),
}, { description: 'The picture of a picture message, with URLs signed for you when the message was sent to you.' });
export type Picture = Static<typeof Picture>;

export const Message = Type.Object({
  id: Type.String({ description: 'Server-assigned message id.' }),
  conversationId: ConversationId,
  seq: Seq,
  sender: Username,
  clientId: Type.String({ description: 'The sender\'s client id (server-chosen for system messages).' }),
  kind: Type.Union([Type.Literal('text'), Type.Literal('system'), Type.Literal('picture')], { description: '`text`: written by a user; `system`: a membership or title change, described in `system`; `picture`: a picture (in `picture`) with `text` as its caption (may be empty).' }),
  text: Type.String({ description: 'The text; the caption of a picture; or for a system message a readable summary of it.' }),
  system: Type.Optional(SystemEvent),
  picture: Type.Optional(Picture),
  sentAt: Type.Integer({ description: 'Commit time, milliseconds since the Unix epoch.' }),
});
export type Message = Static<typeof Message>;

export const MemberReceipt = Type.Object({
  username: Username,
  deliveredSeq: Type.Integer({ minimum: 0, description: 'Highest seq some device of this member has received.' }),
  readSeq: Type.Integer({ minimum: 0, description: "This member's read position." }),
});
export type MemberReceipt = Static<typeof MemberReceipt>;

export const Conversation = Type.Object({
  id: ConversationId,
  kind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  title: Type.String({ description: 'The group title, or for a direct conversation the other member (yourself for notes to self).' }),
  members: Type.Array(Username, { description: 'Current members.' }),
  admins: Type.Array(Username, { description: 'Members who may add, remove and rename (groups; empty for direct conversations).' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'Seq of the latest message you can see (0: none yet).' }),
  lastMessage: Type.Optional(Message),
  updatedAt: Type.Integer({ description: 'Time of the latest message, ms since the epoch.' }),
  unread: Type.Integer({ minimum: 0, description: "Messages from others after your read position. Your own messages never count." }),
  readSeq: Type.Integer({ minimum: 0, description: 'Your read position, the same on all your devices.' }),
  left: Type.Boolean({ description: 'true when you are no longer a member: you see history up to your removal and nothing after.' }),
  receipts: Type.Array(MemberReceipt, { description: "The other members' delivered and read positions: a message with seq s is delivered to / seen by a member when s <= deliveredSeq / readSeq." }),
});
export type Conversation = Static<typeof Conversation>;

export const User = Type.Object({ id: Type.String(), username: Username });
export type User = Static<typeof User>;

// ---------------------------------------------------------------- results (shared by WS replies and HTTP responses)

export const LoginResult = Type.Object({
  user: User,
  deviceId: Type.String({ description: 'Stable id of this device; logging in again with `token` resumes it.' }),
  token: SessionToken,
  resumed: Type.Boolean({ description: 'true when an existing device was resumed with its token.' }),
  protocol: Type.Integer({ description: 'Protocol version spoken by the server.' }),
  expiresAt: Type.Integer({ description: 'When the token expires unless used again (each log in with it moves this forward by TOKEN_TTL_MS), ms since the epoch.' }),
  authMode: AuthMode,
});
export type LoginResult = Static<typeof LoginResult>;

export const SendResult = Type.Object({
  message: Message,
  duplicate: Type.Boolean({ description: 'true when this client id was already stored: the original message is returned and nothing new is stored.' }),
  pos: Type.Optional(Type.Integer({ description: "The sender's change position after this message (absent for duplicates)." })),
  token: Type.Optional(SyncToken),
});
export type SendResult = Static<typeof SendResult>;

export const SyncResult = Type.Object({
  messages: Type.Array(Message, { description: 'Missed messages, oldest change first; each conversation in seq order.' }),
  conversations: Type.Array(Conversation, { description: 'Every conversation the page refers to (and, for a sync without token, the most recent conversations).' }),
  token: SyncToken,
  pos: Type.Integer({ description: 'Change position the token stands for.' }),
  hasMore: Type.Boolean({ description: 'true: call sync again with `token` for the next page.' }),
});
export type SyncResult = Static<typeof SyncResult>;

export const HistoryResult = Type.Object({
  messages: Type.Array(Message, { description: 'Ascending seq order.' }),
  hasMore: Type.Boolean({ description: 'true when older messages exist before the first one returned.' }),
});
export type HistoryResult = Static<typeof HistoryResult>;

export const ConversationsResult = Type.Object({
  conversations: Type.Array(Conversation, { description: 'Most recently changed first.' }),
  next: Type.Optional(Type.String({ description: 'Cursor for the next page (`before`).' })),
});
export type ConversationsResult = Static<typeof ConversationsResult>;

export const ConversationResult = Type.Object({ conversation: Conversation });
export type ConversationResult = Static<typeof ConversationResult>;

export const PresenceEntry = Type.Object({
  username: Username,
  online: Type.Boolean(),
  lastActiveAt: Type.Optional(Type.Integer({ description: 'When the user was last connected, ms since the epoch (absent: never).' })),
});
export type PresenceEntry = Static<typeof PresenceEntry>;

export const PresenceResult = Type.Object({
  users: Type.Array(PresenceEntry, { description: 'Only users who share a conversation with you; others are left out.' }),
});
export type PresenceResult = Static<typeof PresenceResult>;

export const DeviceInfo = Type.Object({
  id: DeviceId,
  name: Type.Optional(DeviceName),
  createdAt: Type.Integer({ description: 'When the device logged in first, ms since the epoch.' }),
  lastSeenAt: Type.Integer({ description: 'When it last logged in (or resumed), ms since the epoch.' }),
  expiresAt: Type.Optional(Type.Integer({ description: 'When its token expires unless used.' })),
  current: Type.Boolean({ description: 'true for the device that asks.' }),
});
export type DeviceInfo = Static<typeof DeviceInfo>;
export const DevicesResult = Type.Object({ devices: Type.Array(DeviceInfo, { description: 'Your devices that are neither revoked nor expired, most recently seen first.' }) });
export type DevicesResult = Static<typeof DevicesResult>;
export const RevokeResult = Type.Object({ revoked: Type.Integer({ description: 'How many devices were logged out by this request.' }) });
export type RevokeResult = Static<typeof RevokeResult>;
export const ServerInfo = Type.Object({
  authMode: AuthMode,
  protocol: Type.Integer({ description: 'Protocol version spoken by the server.' }),
  limits: Type.Object({
    maxMessageChars: Type.Integer(),
    maxFrameBytes: Type.Integer(),
    passwordMinLength: Type.Integer(),
  }),
}, { description: 'What a client needs to know before logging in.' });
export type ServerInfo = Static<typeof ServerInfo>;
export const MediaInfo = Type.Object({
  id: MediaId,
  mime: Type.String({ description: 'Content type decided from the content: image/jpeg, image/png or image/webp (GIF is kept as its first frame in PNG, AVIF as WebP).' }),
  width: Type.Integer({ minimum: 1, description: 'Width in pixels, after the camera orientation was applied.' }),
  height: Type.Integer({ minimum: 1 }),
  size: Type.Integer({ minimum: 1, description: 'Bytes of the stored picture (metadata removed).' }),
  placeholder: Placeholder,
}, { description: 'An uploaded picture. Send it with `send` and `media: id`.' });
export type MediaInfo = Static<typeof MediaInfo>;

export const UploadResult = Type.Object({ media: MediaInfo });
export type UploadResult = Static<typeof UploadResult>;

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable error code; see the catalogue in docs/protocol.md.' }),
  message: Type.String(),
  retryAfterMs: Type.Optional(Type.Integer()),
});

// ---------------------------------------------------------------- request parameters (shared)

export const LoginParams = Type.Union([
  Type.Object({ username: Username, password: Type.Optional(Password), deviceName: Type.Optional(DeviceName) }, { additionalProperties: false }),
  Type.Object({ token: SessionToken }, { additionalProperties: false }),
]);
export const RegisterParams = Type.Object({ username: Username, password: NewPassword, deviceName: Type.Optional(DeviceName) }, { additionalProperties: false });
export const ChangePasswordParams = Type.Object({
  oldPassword: Type.Optional(Password),
  newPassword: NewPassword,
}, { additionalProperties: false });
const SendMedia = Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', description: 'A picture you uploaded (POST /v1/media): sends a picture message with `text` as its caption, which may be empty.' }));
export const SendParams = Type.Union([
  Type.Object({ clientId: ClientMessageId, to: Username, text: Type.String(), media: SendMedia }, { additionalProperties: false }),
  Type.Object({ clientId: ClientMessageId, conversationId: ConversationId, text: Type.String(), media: SendMedia }, { additionalProperties: false }),
]);
export type SendParams = Static<typeof SendParams>;

// ---------------------------------------------------------------- client -> server frames

const req = <K extends string, T extends Record<string, TSchema>>(type: K, props: T, description: string) =>
  Type.Object({ type: Type.Literal(type), id: RequestId, ...props }, { additionalProperties: false, description });

export const ClientFrames = {
  login: Type.Union([
    req('login', { username: Username, password: Type.Optional(Password), deviceName: Type.Optional(DeviceName), protocol: Type.Optional(ProtocolLevel) },
      'Log in as a new device. Open mode: the username alone (creates the user on first use) unless the account has a password. Password mode: `password` is required.'),
    req('login', { token: SessionToken, protocol: Type.Optional(ProtocolLevel) }, 'Resume an existing device with its session token.'),
  ]),
  register: req('register', { username: Username, password: NewPassword, deviceName: Type.Optional(DeviceName), protocol: Type.Optional(ProtocolLevel) },
    'Create an account with a password and log in as its first device (any mode). `conflict` when the name is taken.'),
  logout: req('logout', {}, 'Log this device out: its token is revoked and its connections (this one included) are closed with 4001.'),
  devices: req('devices', {}, 'List your devices.'),
  revokeDevice: req('revokeDevice', { deviceId: DeviceId }, "Log one of your devices out: its token stops working and its connections close with 4001 on every node."),
  changePassword: req('changePassword', { oldPassword: Type.Optional(Password), newPassword: NewPassword },
    'Set a new password (`oldPassword` required when the account has one). Every other device of yours is logged out.'),
  send: Type.Union([
    req('send', { clientId: ClientMessageId, to: Username, text: Type.String(), media: SendMedia }, 'Send a text message (or, with `media`, a picture) to a user (the direct conversation is created on first use).'),
    req('send', { clientId: ClientMessageId, conversationId: ConversationId, text: Type.String(), media: SendMedia }, 'Send a text message (or, with `media`, a picture) into a conversation you are a member of.'),
  ]),
  sync: req('sync', { token: Type.Optional(SyncToken), limit: Type.Optional(Limit) }, 'Fetch everything missed since `token`, one page at a time. Without a token: the current token and the most recent conversations.'),
  history: req('history', { conversationId: ConversationId, before: Type.Optional(Seq), limit: Type.Optional(Limit) }, 'Page backwards through a conversation: messages with seq < `before` (default: from the newest).'),
  conversations: req('conversations', {
    since: Type.Optional(SyncToken),
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
    limit: Type.Optional(Limit),
  }, 'The home screen: your conversations, most recently changed first, paged with `before`. With `since` (a sync token): only those that changed after it.'),
  createGroup: req('createGroup', { title: GroupTitle, members: Type.Array(Username, { maxItems: 1000, uniqueItems: true }) }, 'Create a group with you as its admin and these members.'),
  addMembers: req('addMembers', { conversationId: ConversationId, users: Type.Array(Username, { minItems: 1, maxItems: 1000, uniqueItems: true }) }, 'Add users to a group (admins only).'),
  removeMember: req('removeMember', { conversationId: ConversationId, user: Username }, 'Remove a member from a group (admins only). They stop receiving at once and keep history up to the removal.'),
  leave: req('leave', { conversationId: ConversationId }, 'Leave a group.'),
  rename: req('rename', { conversationId: ConversationId, title: GroupTitle }, 'Rename a group (admins only).'),
  read: req('read', { conversationId: ConversationId, seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) }, 'Move your read position forward to `seq` (never backwards). All your devices and the other members are told.'),
  delivered: req('delivered', { conversationId: ConversationId, seq: Seq }, 'Report that this device has received messages up to `seq` (the SDK does it for you).'),
  typing: req('typing', { conversationId: ConversationId, active: Type.Optional(Type.Boolean()) }, 'Tell the other members you are typing (or stopped: active false). Not stored; expires by itself.'),
  presence: req('presence', { users: Type.Array(Username, { minItems: 1, maxItems: 500, uniqueItems: true }) }, 'Online state and last activity of users who share a conversation with you.'),
  ping: req('ping', {}, 'Application-level heartbeat; replies with the server time.'),
} as const;

export type ClientFrameType = keyof typeof ClientFrames;
export type ClientFrame = { [K in ClientFrameType]: Static<(typeof ClientFrames)[K]> }[ClientFrameType];
export type ClientFrameOf<K extends ClientFrameType> = Static<(typeof ClientFrames)[K]>;

// ---------------------------------------------------------------- server -> client frames

export const ServerFrames = {
  result: Type.Object({ type: Type.Literal('result'), id: RequestId, result: Type.Unknown() }, { description: 'The successful reply to the request with this id. `result` depends on the request type.' }),
  error: Type.Object({ type: Type.Literal('error'), id: Type.Union([RequestId, Type.Null()]), error: ErrorBody }, { description: 'The failed reply to the request with this id (null when the frame could not be read far enough to find an id).' }),
  message: Type.Object({
    type: Type.Literal('message'),
    pos: Type.Integer({ description: "The receiving user's change position. Positions of one user rise by exactly 1 per change (messages and `conversation` events); a jump means a missed event: call sync." }),
    token: SyncToken,
    message: Message,
    conversation: Type.Optional(Conversation),
  }, { description: 'A new message in one of your conversations, pushed to every connection of every member; the connection that sent a text message gets the reply instead. System messages (group changes) go to every connection, the acting one included, and carry your updated `conversation`.' }),
  conversation: Type.Object({
    type: Type.Literal('conversation'),
    pos: Type.Integer(),
    token: SyncToken,
    conversation: Conversation,
  }, { description: 'Your read position in a conversation moved (on any of your devices): the new unread count and read position, at your next position.' }),
  receipt: Type.Object({
    type: Type.Literal('receipt'),
    pos: Type.Integer(),
    token: SyncToken,
    conversationId: ConversationId,
    username: Username,
    deliveredSeq: Type.Integer({ minimum: 0 }),
    readSeq: Type.Integer({ minimum: 0 }),
  }, { description: "Another member's delivered or read position moved: messages up to `deliveredSeq` reached one of their devices, up to `readSeq` they have seen." }),
  typing: Type.Object({
    type: Type.Literal('typing'),
    conversationId: ConversationId,
    user: Username,
    active: Type.Boolean(),
    expiresInMs: Type.Integer({ description: 'Treat the indicator as gone after this long unless renewed.' }),
  }, { description: 'Another member is typing (ephemeral: no pos, never stored).' }),
  presence: Type.Object({
    type: Type.Literal('presence'),
    user: Username,
    online: Type.Boolean(),
    lastActiveAt: Type.Optional(Type.Integer()),
  }, { description: 'A user you share a conversation with came online or went offline (ephemeral: no pos).' }),
} as const;

export type ServerFrame =
  | { type: 'result'; id: string; result: unknown }
  | { type: 'error'; id: string | null; error: Static<typeof ErrorBody> }
  | Static<(typeof ServerFrames)['message']>
  | Static<(typeof ServerFrames)['conversation']>
  | Static<(typeof ServerFrames)['receipt']>
  | Static<(typeof ServerFrames)['typing']>
  | Static<(typeof ServerFrames)['presence']>;

/** Results of each request type, for typed clients. */
export interface ResultOf {
  login: LoginResult;
  register: LoginResult;
  logout: RevokeResult;
  devices: DevicesResult;
  revokeDevice: RevokeResult;
  changePassword: RevokeResult;
  send: SendResult;
  sync: SyncResult;
  history: HistoryResult;
  conversations: ConversationsResult;
  ping: { time: number };
  createGroup: ConversationResult;
  addMembers: ConversationResult;
  removeMember: ConversationResult;
  leave: ConversationResult;
  rename: ConversationResult;
  read: ConversationResult;
  delivered: Record<string, never>;
  typing: Record<string, never>;
  presence: PresenceResult;
}
