/**
 * Presence: which users have at least one open connection anywhere in the
 * cluster. The in-memory adapter knows only its own node; a shared adapter
 * (Redis, with expiring keys refreshed by node heartbeats) makes it
 * cluster-wide, so that a crashed node's users go offline within the expiry.
 */
export interface Presence {
  /** Counts one more connection of the user; resolves true when the user just came online. */
  connect(userId: number): Promise<boolean>;
  /** Counts one connection less; resolves true when the user just went offline. */
  disconnect(userId: number): Promise<boolean>;
  /** The subset of `userIds` that is online. */
  online(userIds: number[]): Promise<Set<number>>;
  close(): Promise<void>;
}
