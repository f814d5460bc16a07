/** Token buckets keyed by a number (a user id): `ratePerSec` sustained, `burst` at once. */
export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly now: () => number = Date.now) {}

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(key: number): number {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.sweep(t);
      this.buckets.set(key, (b = { tokens: this.burst, at: t }));
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) * this.ratePerSec) / 1000);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 1000) / this.ratePerSec);
  }

  /** Forgets buckets that have refilled completely: they hold no information. */
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) * this.ratePerSec) / 1000 >= this.burst) this.buckets.delete(k);
    }
  }
}
