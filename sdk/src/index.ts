/**
 * Parley client SDK. See sdk/README.md for a guide; the API reference is
 * generated from these types (`npm run docs:sdk`).
 */
export {
  ParleyClient, ParleyError, type ParleyClientOptions, type ClientEvents, type ConnectionState, type SendTarget, type PendingSend, type WebSocketLike, type WebSocketConstructor,
  type PictureData, type UploadOptions,
} from './client.js';
export { MemoryStorage, WebStorage, type KeyValueStorage, type WebStorageLike } from './storage.js';
export { messageStatus, type ConversationView, type MessageStatus } from './conversations.js';
export type {
  Message, Conversation, MemberReceipt, LoginResult, SendResult, SyncResult, HistoryResult, PresenceResult, SystemEvent, MediaInfo, Picture, UploadResult,
} from '../../src/protocol/schemas.js';
