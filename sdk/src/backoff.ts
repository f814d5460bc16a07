/**
 * Reconnect delays: exponential with full jitter (a uniformly random delay
 * between 0 and the exponential bound), so that many clients dropped at the
 * same moment spread their reconnects instead of arriving together.
 */
export class Backoff {
  private attempt = 0;

  constructor(private readonly initialMs = 250, private readonly maxMs = 30_000, private readonly random: () => number = Math.random) {}

  /** The next delay; each call doubles the bound up to maxMs. `floorMs` is honoured as a minimum. */
  next(floorMs = 0): number {
    const bound = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.max(floorMs, Math.floor(this.random() * bound));
  }

  reset(): void {
    this.attempt = 0;
  }
}
