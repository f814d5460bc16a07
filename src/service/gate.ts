import { AppError } from '../errors.js';

/**
 * At most `concurrency` tasks at once, at most `queue` more waiting; beyond
 * that a task is refused at once with the retryable `unavailable`. Guards
 * work whose memory grows with how many run together (decoding pictures),
 * so that a burst of it from many users cannot exhaust the node.
 */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  readonly stats = { refused: 0 };

  constructor(private readonly concurrency: number, private readonly queue: number, private readonly what: string) {}

  /** Throws `unavailable` when a task started now would have to be refused. */
  check(): void {
    if (this.running + this.waiting.length >= this.concurrency + this.queue) {
      this.stats.refused++;
      throw new AppError('unavailable', `the server is busy with other ${this.what}; retry shortly`, 1000);
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    this.check();
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get busy(): number {
    return this.running + this.waiting.length;
  }
}
