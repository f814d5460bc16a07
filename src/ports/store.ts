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
 * - `write` is all-or-nothing per item; sends are idempotent per
 *   (sender, clientId): a retry returns the stored original with
 *   `duplicate: true` and changes nothing. Read and delivered positions
 *   only move forward.
 * - A conversation change that is not a message (a read position, a
 *   receipt) also takes a position for each user it concerns and stores it
 *   on their membership row (`memberships.pos`); sync returns the current
 *   state of every conversation whose membership position is in range.
 * - Reads never return data of a conversation the user is not a member of.
 */
export interface StoredUser {
  id: number;
  username: string;
}

export interface StoredAccount extends StoredUser {
  /** argon2id hash (PHC string); null for an open-mode account that never set a password. */
  passwordHash: string | null;
}

export interface StoredDevice {
  id: number;
  userId: number;
}

export interface StoredDeviceInfo {
  id: number;
  /** Chosen by the client at log in ("Firefox on a laptop"); null when it gave none. */
  name: string | null;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number | null;
}

export type SystemEvent = {
  event: 'created' | 'added' | 'removed' | 'left' | 'renamed';
  actor: string;
  users?: string[];
  title?: string;
};

/** What a picture message carries of its picture: everything a reader needs to lay it out (URLs are signed when it is read). */
export interface StoredPicture {
  id: string;
  mime: string;
  width: number;
  height: number;
  thumbWidth: number;
  thumbHeight: number;
  placeholder: string;
}

/** One upload (a `media` row). The bytes are in the MediaStore under `key` and `thumbKey`. */
export interface StoredMedia extends StoredPicture {
  uploaderId: number;
  key: string;
  size: number;
  thumbKey: string;
  createdAt: number;
  /** When it was first sent in a message; null while unsent (unsent uploads expire). */
  sentAt: number | null;
}

export interface StoredMessage {
  id: number;
  conversationId: number;
  seq: number;
  senderId: number;
  sender: string;
  clientId: string;
  kind: 'text' | 'system' | 'picture';
  /** The text, a picture's caption, or a system message's summary. */
  text: string;
  system?: SystemEvent;
  picture?: StoredPicture;
  sentAt: number;
}

/** A conversation as one user sees it. */
export interface StoredConversation {
  id: number;
  kind: 'direct' | 'group';
  /** Group title, or the other member of a direct conversation. */
  title: string;
  members: string[];
  admins: string[];
  /** Last seq this user can see (capped at their removal). */
  lastSeq: number;
  lastMessage: StoredMessage | undefined;
  updatedAt: number;
  unread: number;
  readSeq: number;
  left: boolean;
  receipts: { username: string; deliveredSeq: number; readSeq: number }[];
  /** The user's position when this conversation last changed for them. */
  pos: number;
}

export type SendTarget = { kind: 'user'; userId: number } | { kind: 'conversation'; conversationId: number };

/** A change to commit in a batch: a message, or a read / delivered position. */
export type WriteItem =
  | {
      kind: 'send'; senderId: number; clientId: string; target: SendTarget; text: string; sentAt: number;
      /** A picture message: the upload's id. Only its uploader may send it; anyone else gets not_found. */
      mediaId?: string;
    }
  | { kind: 'read' | 'delivered'; userId: number; conversationId: number; seq: number; at: number };

export type Recipient = { userId: number; pos: number };

export type WriteOutcome =
  | {
      ok: true;
      kind: 'send';
      duplicate: false;
      message: StoredMessage;
      /** Every member with their new position, the sender included. */
      recipients: Recipient[];
    }
  | { ok: true; kind: 'send'; duplicate: true; message: StoredMessage }
  | {
      ok: true;
      kind: 'read' | 'delivered';
      conversationId: number;
      /** false: the position was already there or beyond; nothing changed, nobody is told. */
      changed: boolean;
      /** The reader's own new position (read only: their devices update unread counts). */
      self: Recipient | undefined;
      /** Other members, told of the new receipt. */
      others: Recipient[];
      receipt: { username: string; deliveredSeq: number; readSeq: number };
    }
  | { ok: false; code: 'not_found' | 'bad_request'; message: string };

export type GroupChange =
  | { op: 'add'; userIds: number[] }
  | { op: 'remove'; userId: number }
  | { op: 'leave' }
  | { op: 'rename'; title: string };

export type GroupOutcome =
  | { ok: true; conversationId: number; message: StoredMessage; recipients: Recipient[] }
  | { ok: false; code: 'not_found' | 'forbidden' | 'bad_request' | 'too_large'; message: string };

export interface SyncPage {
  messages: StoredMessage[];
  /** Conversations that changed in this page's range, and every conversation its messages belong to. */
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

  /** Returns the user, creating it on first use (open mode). Usernames are unique regardless of case. */
  upsertUser(username: string, now: number): Promise<StoredUser>;
  /** Creates a user with a password; undefined when the name is taken (in any case). */
  createUser(username: string, passwordHash: string, now: number): Promise<StoredUser | undefined>;
  findUserByName(username: string): Promise<StoredUser | undefined>;
  account(username: string): Promise<StoredAccount | undefined>;
  passwordHash(userId: number): Promise<string | null>;
  setPasswordHash(userId: number, hash: string): Promise<void>;
  createDevice(userId: number, tokenHash: string, now: number, expiresAt: number, name?: string): Promise<StoredDevice>;
  /** The device and user of a session token hash, unless revoked or expired. */
  findDevice(tokenHash: string, now: number): Promise<{ device: StoredDevice; user: StoredUser; expiresAt: number | null } | undefined>;
  /** Records that the device connected (log in by token) and moves its expiry; not done per HTTP request. */
  touchDevice(deviceId: number, now: number, expiresAt: number): Promise<void>;
  /** The user's devices that are neither revoked nor expired, most recently seen first. */
  devices(userId: number, now: number): Promise<StoredDeviceInfo[]>;
  /** Revokes some of the user's devices (or all but one); returns the ids revoked by this call. Others' devices are never touched. */
  revokeDevices(userId: number, ids: number[] | { allBut: number }, now: number): Promise<number[]>;

  /** Commits many changes in one transaction; outcomes are in input order. */
  write(items: WriteItem[]): Promise<WriteOutcome[]>;
  createGroup(creatorId: number, title: string, memberIds: number[], maxMembers: number, now: number): Promise<GroupOutcome>;
  changeGroup(actorId: number, conversationId: number, change: GroupChange, maxMembers: number, now: number): Promise<GroupOutcome>;

  /** Changes for `userId` after position `afterPos`, oldest first, at most `limit` messages and `limit` conversations. */
  sync(userId: number, afterPos: number, limit: number): Promise<SyncPage>;
  currentPos(userId: number): Promise<number>;
  /** Messages with seq < before (all when undefined), newest page, returned ascending; a removed member sees up to the removal. undefined: not a member. */
  history(userId: number, conversationId: number, before: number | undefined, limit: number): Promise<{ messages: StoredMessage[]; hasMore: boolean } | undefined>;
  /** Conversations of the user, most recently changed first: changed after `sincePos` and before `beforePos` when given. */
  conversations(userId: number, sincePos: number | undefined, beforePos: number | undefined, limit: number): Promise<StoredConversation[]>;
  conversation(userId: number, conversationId: number): Promise<StoredConversation | undefined>;
  /** Current members of a conversation the user belongs to (undefined: the user is not a current member). */
  activeMembers(userId: number, conversationId: number): Promise<number[] | undefined>;
  /** Users who share a current conversation with `userId` (not including them). */
  contacts(userId: number): Promise<number[]>;
  usernames(userIds: number[]): Promise<Map<number, string>>;
  setLastActive(userId: number, at: number): Promise<void>;
  lastActive(userIds: number[]): Promise<Map<number, number>>;

  // Pictures. A send with `mediaId` is checked in `write`, in its transaction:
  // the upload must exist and belong to the sender (else not_found, and
  // nothing of that item is stored); the message keeps a copy of the
  // StoredPicture, and the upload's `sentAt` is set if it was null.

  createMedia(media: StoredMedia): Promise<void>;
  media(id: string): Promise<StoredMedia | undefined>;
  /**
   * Deletes at most `limit` uploads created before `createdBefore` that were
   * never sent, and returns them. Atomic with respect to `write`: an upload
   * being sent is either sent (and kept) or deleted (and the send gets not_found).
   */
  deleteUnsentMedia(createdBefore: number, limit: number): Promise<StoredMedia[]>;
  /** Which of these blob keys some upload (as picture or thumbnail) still refers to. */
  mediaKeysInUse(keys: string[]): Promise<Set<string>>;
}
