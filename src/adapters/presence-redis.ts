import { Redis } from 'ioredis';
import type { Presence } from '../ports/presence.js';

const key = (userId: number) => `parley:p:${userId}`;

// KEYS[1] user key; ARGV: node, expiry (ms epoch), now (ms), key ttl (s).
// Adds this node as holding the user until `expiry`; returns 1 when no node held them before.
const CONNECT = `
local before = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if before == 0 then return 1 else return 0 end`;

// KEYS[1] user key; ARGV: node, now. Removes this node; returns 1 when no live node holds the user any more.
const DISCONNECT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then return 1 else return 0 end`;

/**
 * Presence shared by all nodes: per user a sorted set of the nodes holding a
 * connection, scored by when that claim expires. Each node renews its claims
 * every `heartbeatMs`; a crashed node stops renewing, so its users read as
 * offline within `ttlMs`.
 */
export class RedisPresence implements Presence {
  private readonly redis: Redis;
  private readonly local = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(url: string, private readonly nodeId: string, private readonly ttlMs = 30_000, heartbeatMs = 10_000) {
    this.redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
    this.redis.on('error', () => { /* presence degrades to stale; the bus health check reports Redis trouble */ });
    this.timer = setInterval(() => void this.renew(), heartbeatMs).unref();
  }

  private async renew(): Promise<void> {
    const expiry = Date.now() + this.ttlMs;
    const ttl = Math.ceil(this.ttlMs / 1000) + 1;
    const p = this.redis.pipeline();
    for (const userId of this.local.keys()) p.zadd(key(userId), expiry, this.nodeId).expire(key(userId), ttl);
    await p.exec().catch(() => undefined);
  }

  async connect(userId: number): Promise<boolean> {
    const n = (this.local.get(userId) ?? 0) + 1;
    this.local.set(userId, n);
    if (n > 1) return false;
    const now = Date.now();
    const r = await this.redis.eval(CONNECT, 1, key(userId), this.nodeId, now + this.ttlMs, now, Math.ceil(this.ttlMs / 1000) + 1);
    return r === 1;
  }

  async disconnect(userId: number): Promise<boolean> {
    const n = (this.local.get(userId) ?? 0) - 1;
    if (n > 0) {
      this.local.set(userId, n);
      return false;
    }
    this.local.delete(userId);
    const r = await this.redis.eval(DISCONNECT, 1, key(userId), this.nodeId, Date.now());
    return r === 1;
  }

  async online(userIds: number[]): Promise<Set<number>> {
    if (userIds.length === 0) return new Set();
    const now = Date.now();
    const p = this.redis.pipeline();
    for (const id of userIds) p.zcount(key(id), now, '+inf');
    const res = (await p.exec()) ?? [];
    return new Set(userIds.filter((_, i) => Number(res[i]?.[1] ?? 0) > 0));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    // Withdraw this node's claims so its users do not linger as online.
    const p = this.redis.pipeline();
    for (const userId of this.local.keys()) p.zrem(key(userId), this.nodeId);
    await p.exec().catch(() => undefined);
    this.local.clear();
    this.redis.disconnect();
  }
}
