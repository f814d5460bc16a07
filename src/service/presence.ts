import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Presence } from '../ports/presence.js';
import type { Store } from '../ports/store.js';
import type { PresenceResult } from '../protocol/schemas.js';
import type { Hub } from './hub.js';

interface Pushed {
  online: boolean;
  at: number;
  timer?: NodeJS.Timeout;
}

/**
 * Online / last-active state, visible to users who share a conversation.
 * Changes are pushed to those users at most once per PRESENCE_THROTTLE_MS
 * per user: a flurry of reconnects shows as one push at the end of the
 * window, of the latest state.
 */
export class PresenceService {
  private readonly pushed = new Map<number, Pushed>();
  private stopped = false;

  constructor(
    private readonly presence: Presence,
    private readonly store: Store,
    private readonly hub: Hub,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stops pushing (the node is shutting down; its sockets are closing on purpose). */
  stop(): void {
    this.stopped = true;
    for (const p of this.pushed.values()) clearTimeout(p.timer);
  }

  async connected(userId: number, username: string): Promise<void> {
    if (this.stopped) return;
    if (await this.presence.connect(userId)) this.changed(userId, username, true);
  }

  async disconnected(userId: number, username: string): Promise<void> {
    if (this.stopped) return;
    try {
      if (!(await this.presence.disconnect(userId))) return;
      await this.store.setLastActive(userId, this.now());
    } catch (err) {
      if (this.stopped) return; // shutting down: the storage went away under us
      throw err;
    }
    this.changed(userId, username, false);
  }

  private changed(userId: number, username: string, online: boolean): void {
    const t = this.now();
    const last = this.pushed.get(userId);
    if (last?.timer) return; // a trailing push is already due; it reads the state then
    const wait = last ? last.at + this.config.presenceThrottleMs - t : 0;
    if (wait <= 0) {
      void this.push(userId, username, online);
      return;
    }
    const entry: Pushed = last ?? { online: !online, at: 0 };
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      // Something changed in the window: push the state as it is now, even when it is the
      // one pushed last (offline and back). A user who became a contact in between and
      // asked for presence then may have been told otherwise.
      void this.presence.online([userId]).then((set) => this.push(userId, username, set.has(userId)));
    }, wait);
    entry.timer.unref();
    this.pushed.set(userId, entry);
  }

  private async push(userId: number, username: string, online: boolean): Promise<void> {
    // A trailing push whose state was being read when the node began to stop.
    if (this.stopped) return;
    const at = this.now();
    this.pushed.set(userId, { online, at });
    if (this.pushed.size > 100_000) this.sweep(at);
    try {
      const frame = online
        ? { type: 'presence' as const, user: username, online: true }
        : { type: 'presence' as const, user: username, online: false, lastActiveAt: at };
      for (const contact of await this.store.contacts(userId)) this.hub.deliver(contact, frame);
    } catch (err) {
      if (!this.stopped) this.log.error({ err }, 'presence push failed');
    }
  }

  private sweep(t: number): void {
    for (const [id, p] of this.pushed) if (!p.timer && t - p.at > this.config.presenceThrottleMs) this.pushed.delete(id);
  }

  /** Presence of the named users who share a conversation with `userId`; others are left out. */
  async query(userId: number, users: { id: number; username: string }[]): Promise<PresenceResult> {
    const contacts = new Set(await this.store.contacts(userId));
    contacts.add(userId);
    const visible = users.filter((u) => contacts.has(u.id));
    const online = await this.presence.online(visible.map((u) => u.id));
    const lastActive = await this.store.lastActive(visible.filter((u) => !online.has(u.id)).map((u) => u.id));
    return {
      users: visible.map((u) => {
        if (online.has(u.id)) return { username: u.username, online: true };
        const at = lastActive.get(u.id);
        return at === undefined ? { username: u.username, online: false } : { username: u.username, online: false, lastActiveAt: at };
      }),
    };
  }
}
