/**
 * Store: persistence of users, devices, conversations and messages.
 *
 * Contract every adapter keeps (see docs/architecture.md, "Sync"):
 *
 * - Each message gets `seq` = conversation's previous last seq + 1, in the
 *   same transaction that stores it; commit order equals seq order within a
 *   conversation (the conversation row is locked while a seq is taken).
 * - Each user has a change position `pos`. Every change that concerns a user
 *   (today: a message in one of their conversations) takes pos + 1 under a
 *   lock on the user's row, in the same transaction, and appends one row to
 *   that user's change log. Because the lock is held until commit, a user's
 *   positions commit in increasing order: a reader that sees position p has
 *   also seen every position below p. That is what makes a sync token safe
 *   under concurrent writers.
 * - `appendMessages` is all-or-nothing per item and idempotent per
 *   (sender, clientId): a retry returns the stored original with
 *   `duplicate: true` and changes nothing.
 * - Reads never return data of a conversation the user is not a member of.
 */
export interface StoredUser {
  id: number;
  username: string;
}

export interface StoredDevice {
  id: number;
  userId: number;
}

export interface StoredMessage {
  id: number;
  conversationId: number;
  seq: number;
  senderId: number;
  sender: string;
  clientId: string;
  kind: 'text';
  text: string;
  sentAt: number;
}

export interface StoredConversation {
  id: number;
  kind: 'direct';
  members: string[];
  lastSeq: number;
  lastMessage: StoredMessage | undefined;
  updatedAt: number;
  /** The reading user's position when this conversation last changed for them. */
  pos: number;
}

export type SendTarget = { kind: 'user'; userId: number } | { kind: 'conversation'; conversationId: number };

export interface AppendInput {
  senderId: number;
  clientId: string;
  target: SendTarget;
  text: string;
  sentAt: number;
}

export type AppendOutcome =
  | {
      ok: true;
      duplicate: false;
      message: StoredMessage;
      /** Every member with their new position, the sender included. */
      recipients: { userId: number; pos: number }[];
    }
  | { ok: true; duplicate: true; message: StoredMessage }
  | { ok: false; code: 'not_found' };

export interface SyncPage {
  messages: StoredMessage[];
  conversations: StoredConversation[];
  /** Position the next sync should start after. */
  pos: number;
  hasMore: boolean;
}

export interface Store {
  /** Brings the schema up to date. Safe to call on every start. */
  migrate(): Promise<void>;
  /** Cheap round trip for readiness checks; rejects when the database is unusable. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Returns the user, creating it on first use. Usernames are unique regardless of case. */
  upsertUser(username: string, now: number): Promise<StoredUser>;
  findUserByName(username: string): Promise<StoredUser | undefined>;
  createDevice(userId: number, tokenHash: string, now: number): Promise<StoredDevice>;
  /** The device and user of a session token hash, unless revoked or expired. */
  findDevice(tokenHash: string, now: number): Promise<{ device: StoredDevice; user: StoredUser } | undefined>;
  /** Records that the device connected (log in by token); not done per HTTP request. */
  touchDevice(deviceId: number, now: number): Promise<void>;

  /** Stores many sends in one transaction; outcomes are in input order. */
  appendMessages(items: AppendInput[]): Promise<AppendOutcome[]>;
  /** Changes for `userId` after position `afterPos`, oldest first, at most `limit` messages. */
  sync(userId: number, afterPos: number, limit: number): Promise<SyncPage>;
  currentPos(userId: number): Promise<number>;
  /** Messages with seq < before (all when undefined), newest page, returned ascending. undefined: not a member. */
  history(userId: number, conversationId: number, before: number | undefined, limit: number): Promise<{ messages: StoredMessage[]; hasMore: boolean } | undefined>;
  /** Conversations of the user, most recently changed first, with pos < beforePos when given. */
  conversations(userId: number, beforePos: number | undefined, limit: number): Promise<StoredConversation[]>;
}
