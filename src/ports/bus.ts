/**
 * Bus: fan-out of events to *other* nodes. A node delivers its own events to
 * its own sockets directly (see service/hub.ts); the bus never echoes a
 * node's publications back to it.
 *
 * Routing is by user: a node subscribes to the users that have a connection
 * on it, and `publish` reaches only nodes subscribed to that user. Delivery
 * is best effort: push is a hint, the database is the truth, and a client
 * that misses an event notices the gap in `pos` and syncs.
 */
import type { ServerFrame } from '../protocol/schemas.js';

/** The node-to-node messages, owned by the core. Adapters only carry them. */
export type BusMessage =
  | { kind: 'user-frames'; userId: number; frame: ServerFrame }
  /** These devices of the user were revoked: close their connections. */
  | { kind: 'revoke-devices'; userId: number; deviceIds: number[] };

export interface Bus {
  /** Called for each message from another node. Set once by the hub. */
  onMessage(handler: (msg: BusMessage) => void): void;
  publish(msg: BusMessage): void;
  /** This node now has (or no longer has) connections of the user. Resolves when the subscription is active. */
  subscribeUser(userId: number): Promise<void>;
  unsubscribeUser(userId: number): void;
  /** Messages received from other nodes and published by this one; connection and publish errors. */
  readonly stats: { received: number; published: number; errors: number };
  /** false when messages from other nodes may not be arriving (disconnected, or a stalled subscription). */
  healthy(): boolean;
  close(): Promise<void>;
}
