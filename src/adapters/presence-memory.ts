import type { Presence } from '../ports/presence.js';

/** Presence of one node's connections, in memory. */
export class MemoryPresence implements Presence {
  private readonly counts = new Map<number, number>();

  async connect(userId: number): Promise<boolean> {
    const n = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, n);
    return n === 1;
  }

  async disconnect(userId: number): Promise<boolean> {
    const n = (this.counts.get(userId) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(userId, n);
      return false;
    }
    return this.counts.delete(userId);
  }

  async online(userIds: number[]): Promise<Set<number>> {
    return new Set(userIds.filter((id) => this.counts.has(id)));
  }

  async close(): Promise<void> {
    this.counts.clear();
  }
}
