/** Token buckets keyed by a user id, a username or an address: `ratePerSec` sustained, `burst` at once. */
export class RateLimiter<K extends string | number = number> {
  private readonly buckets = new Map<K, { tokens: number; at: number }>();

  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly now: () => number = Date.now) {}

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(key: K): number {
    return this.consume(key, true);
  }

  /** The wait `take` would return, without taking a token. */
  check(key: K): number {
    return this.consume(key, false);
  }

  private consume(key: K, take: boolean): number {
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
      if (take) b.tokens -= 1;
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
