import type { Bus } from '../ports/bus.js';
import type { ServerFrame } from '../protocol/schemas.js';

/** Something that can take frames for one logged-in connection (the gateway's connection). */
export interface Sink {
  /** Takes an encoded frame; the sink enforces its own buffering limit. */
  push(data: string): void;
  /** The device behind this sink, if it is a logged-in connection. */
  readonly deviceId?: number;
  /** The device was revoked: tell the client and close. */
  revoked?(): void;
}

/**
 * Local delivery: which sinks of which users are on this node. Events for a
 * user go straight to the local sinks, serialized once, and through the bus
 * to other nodes that have the same user.
 */
export class Hub {
  private readonly users = new Map<number, Set<Sink>>();

  constructor(private readonly bus: Bus) {
    bus.onMessage((msg) => {
      if (msg.kind === 'user-frames') this.deliverLocal(msg.userId, JSON.stringify(msg.frame), undefined);
      else if (msg.kind === 'revoke-devices') this.closeLocal(msg.userId, msg.deviceIds);
    });
  }

  /**
   * Registers a sink; resolves once the bus delivers the user's events from
   * other nodes (or after a second, when the bus is down: push is a hint and
   * the client's sync covers the rest).
   */
  attach(userId: number, sink: Sink): Promise<void> {
    let set = this.users.get(userId);
    let subscribed: Promise<void> = Promise.resolve();
    if (!set) {
      this.users.set(userId, (set = new Set()));
      subscribed = this.bus.subscribeUser(userId);
    }
    set.add(sink);
    return Promise.race([subscribed, new Promise<void>((r) => setTimeout(r, 1000).unref())]);
  }

  detach(userId: number, sink: Sink): void {
    const set = this.users.get(userId);
    if (!set?.delete(sink)) return;
    if (set.size === 0) {
      this.users.delete(userId);
      this.bus.unsubscribeUser(userId);
    }
  }

  connectionsOf(userId: number): number {
    return this.users.get(userId)?.size ?? 0;
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Sends `frame` to every connection of the user on every node, except `except`. */
  deliver(userId: number, frame: ServerFrame, except?: Sink): void {
    const set = this.users.get(userId);
    if (set && (set.size > 1 || !except || !set.has(except))) this.deliverLocal(userId, JSON.stringify(frame), except);
    this.bus.publish({ kind: 'user-frames', userId, frame });
  }

  /** Closes the connections of these devices of the user, on this node and every other. */
  revokeDevices(userId: number, deviceIds: number[]): void {
    if (deviceIds.length === 0) return;
    this.closeLocal(userId, deviceIds);
    this.bus.publish({ kind: 'revoke-devices', userId, deviceIds });
  }

  private closeLocal(userId: number, deviceIds: number[]): void {
    const set = this.users.get(userId);
    if (!set) return;
    for (const sink of [...set]) if (sink.deviceId !== undefined && deviceIds.includes(sink.deviceId)) sink.revoked?.();
  }

  private deliverLocal(userId: number, data: string, except: Sink | undefined): void {
    const set = this.users.get(userId);
    if (!set) return;
    for (const sink of set) if (sink !== except) sink.push(data);
  }
}
