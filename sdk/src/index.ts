/**
 * Parley client SDK. See sdk/README.md for a guide; the API reference is
 * generated from these types (`npm run docs:sdk`).
 */
export { ParleyClient, ParleyError, type ParleyClientOptions, type ClientEvents, type ConnectionState, type SendTarget, type WebSocketLike, type WebSocketConstructor } from './client.js';
export { MemoryStorage, WebStorage, type KeyValueStorage, type WebStorageLike } from './storage.js';
export type { ConversationView } from './conversations.js';
export type { Message, Conversation, LoginResult, SendResult, SyncResult, HistoryResult } from '../../src/protocol/schemas.js';
