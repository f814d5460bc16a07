import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Store } from '../ports/store.js';
import type { Hub } from './hub.js';
import { RateLimiter } from './rate-limit.js';

/** Re-sending "still typing" sooner than this is accepted but not broadcast again. */
const REBROADCAST_MS = 1500;

/** Typing indicators: ephemeral, never stored, throttled, expiring on the receiver's side. */
export class TypingService {
  private readonly limiter: RateLimiter;
  private readonly lastSent = new Map<string, { active: boolean; at: number }>();

  constructor(private readonly store: Store, private readonly hub: Hub, private readonly config: Config, private readonly now: () => number = Date.now) {
    this.limiter = new RateLimiter(config.typingRatePerSec, config.typingRatePerSec * 3, now);
  }

  async typing(user: { userId: number; username: string }, conversationId: string, active: boolean): Promise<Record<string, never>> {
    const wait = this.limiter.take(user.userId);
    if (wait > 0) throw new AppError('rate_limited', 'typing notices too fast', wait);
    const members = await this.store.activeMembers(user.userId, Number(conversationId));
    if (!members) throw new AppError('not_found', 'no such conversation');
    const key = `${user.userId}:${conversationId}`;
    const t = this.now();
    const last = this.lastSent.get(key);
    if (last && last.active === active && t - last.at < REBROADCAST_MS) return {};
    this.lastSent.set(key, { active, at: t });
    if (this.lastSent.size > 50_000) {
      for (const [k, v] of this.lastSent) if (t - v.at > this.config.typingTtlMs) this.lastSent.delete(k);
    }
    const frame = { type: 'typing' as const, conversationId, user: user.username, active, expiresInMs: this.config.typingTtlMs };
    for (const m of members) if (m !== user.userId) this.hub.deliver(m, frame);
    return {};
  }
}
