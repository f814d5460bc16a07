import type { IncomingMessage } from 'node:http';
import type { Config } from '../config.js';

/**
 * Browser origin policy for WebSocket upgrades and CORS. A request without an
 * Origin header is not from a browser page and is allowed; a page served by
 * this server (same host) is allowed; anything else only when listed in
 * ALLOWED_ORIGINS (or when that is `*`).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, config: Config): boolean {
  if (origin === undefined) return true;
  if (config.allowedOrigins.includes('*') || config.allowedOrigins.includes(origin)) return true;
  if (!host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}

/**
 * The client's address: the peer's, or with TRUST_PROXY the address the load
 * balancer saw (the last X-Forwarded-For entry, the one it appended; earlier
 * entries are whatever the client claimed).
 */
export function clientAddress(req: IncomingMessage, config: Config): string {
  if (config.trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const list = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const last = list[list.length - 1];
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
