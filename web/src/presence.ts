/**
 * Who is online among the people you talk to: asked once for everyone in your
 * conversations, then kept current by the server's presence pushes.
 */
import type { ParleyClient } from '../../sdk/src/index.js';
import { Signal } from './live.js';

const REFRESH_MS = 60_000;
const RECHECK_MS = 5_000;

export interface PresenceInfo {
  online: boolean;
  lastActiveAt?: number;
}

export class PresenceBook extends Signal {
  private readonly byUser = new Map<string, PresenceInfo>();
  private readonly asked = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly offs: (() => void)[] = [];
  private readonly rechecked = new Map<string, number>();
  private readonly refresh: ReturnType<typeof setInterval>;

  constructor(private readonly client: ParleyClient) {
    super();
    this.offs.push(client.on('presence', (user, online, lastActiveAt) => {
      this.byUser.set(user.toLowerCase(), { online, lastActiveAt });
      this.notify();
    }));
    // After a reconnect, pushes may have been missed: ask again.
    this.offs.push(client.on('state', (s) => {
      if (s === 'online') {
        this.asked.clear();
        this.schedule();
      }
    }));
    this.offs.push(client.on('conversation', () => this.schedule()));
    // Pushes are throttled by the server, and someone who became a contact within that
    // window may miss a flip back: a sign of life from a user (a receipt from one of their
    // devices, typing) is a reason to ask again, and everyone is re-asked now and then.
    this.offs.push(client.on('receipt', (_c, r) => this.recheck(r.username)));
    this.offs.push(client.on('typing', (_c, user, active) => active && this.recheck(user)));
    this.refresh = setInterval(() => {
      this.asked.clear();
      this.schedule();
    }, REFRESH_MS);
  }

  private recheck(user: string): void {
    const u = user.toLowerCase();
    if (this.byUser.get(u)?.online) return;
    const at = this.rechecked.get(u) ?? 0;
    if (Date.now() - at < RECHECK_MS) return;
    this.rechecked.set(u, Date.now());
    this.asked.delete(u);
    this.schedule();
  }

  get(user: string): PresenceInfo | undefined {
    return this.byUser.get(user.toLowerCase());
  }

  close(): void {
    clearTimeout(this.timer);
    clearInterval(this.refresh);
    this.offs.forEach((off) => off());
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.askNew();
    }, 100);
  }

  private async askNew(): Promise<void> {
    if (this.client.state !== 'online') return;
    const me = this.client.user?.username.toLowerCase();
    const users = new Set<string>();
    for (const c of this.client.conversations()) {
      if (c.left) continue;
      for (const m of c.members) if (m.toLowerCase() !== me && !this.asked.has(m.toLowerCase())) users.add(m);
    }
    const list = [...users].slice(0, 500);
    if (list.length === 0) return;
    list.forEach((u) => this.asked.add(u.toLowerCase()));
    try {
      const r = await this.client.presence(list);
      for (const p of r.users) this.byUser.set(p.username.toLowerCase(), { online: p.online, lastActiveAt: p.lastActiveAt });
      this.notify();
    } catch {
      list.forEach((u) => this.asked.delete(u.toLowerCase()));
    }
  }
}
