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
export const Limit = Type.Integer({ minimum: 1, maximum: 10000, description: 'Page size; capped by the server (PAGE_SIZE_MAX).' });

export const Message = Type.Object({
  id: Type.String({ description: 'Server-assigned message id.' }),
  conversationId: ConversationId,
  seq: Seq,
  sender: Username,
  clientId: ClientMessageId,
  kind: Type.Literal('text'),
  text: Type.String(),
  sentAt: Type.Integer({ description: 'Commit time, milliseconds since the Unix epoch.' }),
}, { $id: 'Message' });
export type Message = Static<typeof Message>;

export const Conversation = Type.Object({
  id: ConversationId,
  kind: Type.Literal('direct'),
  members: Type.Array(Username, { description: 'Usernames of the members.' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'Seq of the latest message (0: none yet).' }),
  lastMessage: Type.Optional(Message),
  updatedAt: Type.Integer({ description: 'Time of the latest change, ms since the epoch.' }),
}, { $id: 'Conversation' });
export type Conversation = Static<typeof Conversation>;

export const User = Type.Object({ id: Type.String(), username: Username }, { $id: 'User' });
export type User = Static<typeof User>;

// ---------------------------------------------------------------- results (shared by WS replies and HTTP responses)

export const LoginResult = Type.Object({
  user: User,
  deviceId: Type.String({ description: 'Stable id of this device; logging in again with `token` resumes it.' }),
  token: SessionToken,
  resumed: Type.Boolean({ description: 'true when an existing device was resumed with its token.' }),
  protocol: Type.Integer({ description: 'Protocol version spoken by the server.' }),
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

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable error code; see the catalogue in docs/protocol.md.' }),
  message: Type.String(),
  retryAfterMs: Type.Optional(Type.Integer()),
}, { $id: 'Error' });

// ---------------------------------------------------------------- request parameters (shared)

export const LoginParams = Type.Union([
  Type.Object({ username: Username }, { additionalProperties: false }),
  Type.Object({ token: SessionToken }, { additionalProperties: false }),
]);
export const SendParams = Type.Union([
  Type.Object({ clientId: ClientMessageId, to: Username, text: Type.String() }, { additionalProperties: false }),
  Type.Object({ clientId: ClientMessageId, conversationId: ConversationId, text: Type.String() }, { additionalProperties: false }),
]);
export type SendParams = Static<typeof SendParams>;

// ---------------------------------------------------------------- client -> server frames

const req = <K extends string, T extends Record<string, TSchema>>(type: K, props: T, description: string) =>
  Type.Object({ type: Type.Literal(type), id: RequestId, ...props }, { additionalProperties: false, description });

export const ClientFrames = {
  login: Type.Union([
    req('login', { username: Username }, 'Log in by username (open mode); creates the user on first use and a new device.'),
    req('login', { token: SessionToken }, 'Resume an existing device with its session token.'),
  ]),
  send: Type.Union([
    req('send', { clientId: ClientMessageId, to: Username, text: Type.String() }, 'Send a text message to a user (the direct conversation is created on first use).'),
    req('send', { clientId: ClientMessageId, conversationId: ConversationId, text: Type.String() }, 'Send a text message into a conversation you are a member of.'),
  ]),
  sync: req('sync', { token: Type.Optional(SyncToken), limit: Type.Optional(Limit) }, 'Fetch everything missed since `token`, one page at a time. Without a token: the current token and the most recent conversations.'),
  history: req('history', { conversationId: ConversationId, before: Type.Optional(Seq), limit: Type.Optional(Limit) }, 'Page backwards through a conversation: messages with seq < `before` (default: from the newest).'),
  conversations: req('conversations', { before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })), limit: Type.Optional(Limit) }, 'List your conversations, most recently changed first.'),
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
    pos: Type.Integer({ description: "The receiving user's change position. Positions of one user rise by exactly 1 per change; a jump means a missed event: call sync." }),
    token: SyncToken,
    message: Message,
  }, { description: 'A new message in one of your conversations, pushed to every connection of every member (not to the sending connection, which gets the reply).' }),
} as const;

export type ServerFrame =
  | { type: 'result'; id: string; result: unknown }
  | { type: 'error'; id: string | null; error: Static<typeof ErrorBody> }
  | Static<(typeof ServerFrames)['message']>;

/** Results of each request type, for typed clients. */
export interface ResultOf {
  login: LoginResult;
  send: SendResult;
  sync: SyncResult;
  history: HistoryResult;
  conversations: ConversationsResult;
  ping: { time: number };
}
