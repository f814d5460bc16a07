import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Bus, BusMessage } from '../ports/bus.js';

const USER_PREFIX = 'parley:u:';

/**
 * Redis pub/sub, one channel per user: a node subscribes to the users that
 * have a connection on it, so it receives only their events. Its own
 * publications come back on channels it subscribes to and are dropped by
 * node id. A probe published to the node's own channel every `probeMs`
 * proves the subscription still delivers; when it stops arriving the bus
 * reports unhealthy (and /readyz fails) instead of staying green.
 */
export class RedisBus implements Bus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private handler: (msg: BusMessage) => void = () => {};
  private readonly probeChannel: string;
  private lastProbeAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  /** Messages received from other nodes and published by this one, for metrics and tests. */
  readonly stats = { received: 0, published: 0, errors: 0 };

  constructor(url: string, private readonly nodeId: string, private readonly log: Logger, private readonly probeMs = 2000) {
    const opts = { lazyConnect: false, enableAutoPipelining: true, maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(50 * 2 ** n, 2000) };
    this.pub = new Redis(url, opts);
    this.sub = new Redis(url, { ...opts, autoResubscribe: true });
    for (const [name, c] of [['publish', this.pub], ['subscribe', this.sub]] as const) {
      c.on('error', (err: Error) => {
        this.stats.errors++;
        this.log.warn({ err: err.message, connection: name }, 'redis bus connection error');
      });
    }
    this.probeChannel = `parley:node:${nodeId}`;
    void this.sub.subscribe(this.probeChannel).catch(() => undefined);
    this.sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.receive(channel.toString(), payload));
    this.timer = setInterval(() => {
      this.pub.publish(this.probeChannel, String(Date.now())).catch(() => undefined);
    }, probeMs).unref();
  }

  private receive(channel: string, payload: Buffer): void {
    if (channel === this.probeChannel) {
      this.lastProbeAt = Date.now();
      return;
    }
    let msg: { n: string; m: BusMessage };
    try {
      msg = JSON.parse(payload.toString()) as typeof msg;
    } catch {
      return;
    }
    if (msg.n === this.nodeId) return;
    this.stats.received++;
    this.handler(msg.m);
  }

  onMessage(handler: (msg: BusMessage) => void): void {
    this.handler = handler;
  }

  publish(msg: BusMessage): void {
    this.stats.published++;
    this.pub.publish(USER_PREFIX + msg.userId, JSON.stringify({ n: this.nodeId, m: msg })).catch(() => {
      // Push is a hint: clients notice the missing position and sync.
      this.stats.errors++;
    });
  }

  async subscribeUser(userId: number): Promise<void> {
    await this.sub.subscribe(USER_PREFIX + userId).catch(() => undefined);
  }

  unsubscribeUser(userId: number): void {
    this.sub.unsubscribe(USER_PREFIX + userId).catch(() => undefined);
  }

  /**
   * Unhealthy means stalled: Redis answers our publications but our own
   * probes stop arriving, which restarting this node may fix. When Redis is
   * down for everyone the node stays ready: sends still commit and clients
   * catch up through sync; failing every node would drop every client.
   */
  healthy(): boolean {
    if (this.pub.status !== 'ready') return true;
    if (this.sub.status !== 'ready') return Date.now() - this.lastProbeAt < this.probeMs * 5;
    return Date.now() - this.lastProbeAt < this.probeMs * 3;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
