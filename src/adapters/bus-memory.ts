import type { Bus, BusMessage } from '../ports/bus.js';

/**
 * In-process bus. Nodes that share one MemoryBusHub (several servers in one
 * test process) reach each other; a node alone has no one to reach and
 * publishing costs a map lookup.
 */
export class MemoryBusHub {
  private readonly subscribers = new Map<number, Set<MemoryBus>>();

  subscribe(userId: number, bus: MemoryBus): void {
    let set = this.subscribers.get(userId);
    if (!set) this.subscribers.set(userId, (set = new Set()));
    set.add(bus);
  }

  unsubscribe(userId: number, bus: MemoryBus): void {
    const set = this.subscribers.get(userId);
    if (!set) return;
    set.delete(bus);
    if (set.size === 0) this.subscribers.delete(userId);
  }

  route(from: MemoryBus, msg: BusMessage): void {
    const set = this.subscribers.get(msg.userId);
    if (!set) return;
    for (const bus of set) if (bus !== from) bus.deliver(msg);
  }
}

export class MemoryBus implements Bus {
  private handler: (msg: BusMessage) => void = () => {};
  private readonly users = new Set<number>();
  readonly stats = { received: 0, published: 0, errors: 0 };

  constructor(private readonly hub: MemoryBusHub = new MemoryBusHub()) {}

  onMessage(handler: (msg: BusMessage) => void): void {
    this.handler = handler;
  }

  publish(msg: BusMessage): void {
    this.stats.published++;
    this.hub.route(this, msg);
  }

  async subscribeUser(userId: number): Promise<void> {
    this.users.add(userId);
    this.hub.subscribe(userId, this);
  }

  unsubscribeUser(userId: number): void {
    this.users.delete(userId);
    this.hub.unsubscribe(userId, this);
  }

  /** Called by the hub; asynchronous like a real network hop. */
  deliver(msg: BusMessage): void {
    this.stats.received++;
    queueMicrotask(() => this.handler(msg));
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    for (const u of this.users) this.hub.unsubscribe(u, this);
    this.users.clear();
  }
}
