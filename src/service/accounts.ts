import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Store, StoredUser } from '../ports/store.js';
import { PROTOCOL_VERSION, type DeviceInfo, type LoginResult } from '../protocol/schemas.js';
import type { Hub } from './hub.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { RateLimiter } from './rate-limit.js';

/** Who is behind a connection or an HTTP request. */
export interface Session {
  readonly userId: number;
  readonly username: string;
  readonly deviceId: number;
}

export type Credentials =
  | { username: string; password?: string; deviceName?: string }
  | { token: string; deviceName?: string };

/** Tokens are 256 random bits; only their SHA-256 is stored, so a copy of the database logs no one in. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

const BAD_CREDENTIALS = 'wrong username or password';
const BAD_TOKEN = 'unknown, expired or revoked token';

/**
 * Accounts and devices: register, log in (username alone in open mode, or a
 * password), session tokens that expire and can be revoked, the device list.
 * Failed log-ins are limited per username and per client address (brute
 * force); registrations per address. Revoking a device closes its live
 * connections on every node through the hub.
 */
export class AccountService {
  private readonly failuresByName: RateLimiter<string>;
  private readonly failuresByAddress: RateLimiter<string>;
  private readonly registrations: RateLimiter<string>;

  constructor(
    private readonly store: Store,
    private readonly hub: Hub,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {
    const perSec = (perMin: number) => perMin / 60;
    this.failuresByName = new RateLimiter(perSec(config.loginFailuresPerMin), config.loginFailureBurst, now);
    this.failuresByAddress = new RateLimiter(perSec(config.loginFailuresPerMin), config.loginFailureBurst, now);
    this.registrations = new RateLimiter(perSec(config.registrationsPerMin), config.registrationsPerMin, now);
  }

  /**
   * `admit` is asked with the user id before anything is written (a refused
   * log in, say over the connections-per-user limit, leaves no device behind).
   */
  async login(params: Credentials, address: string, admit: (userId: number) => void = () => {}): Promise<{ session: Session; result: LoginResult }> {
    const now = this.now();
    this.checkFailures(address, 'username' in params ? params.username : undefined);
    if ('token' in params) {
      const found = await this.store.findDevice(hashToken(params.token), now);
      // Not counted as a failed log-in: 256-bit tokens cannot be guessed, and counting
      // them would lock out an office behind one address whose apps hold expired tokens.
      if (!found) throw new AppError('unauthorized', BAD_TOKEN);
      admit(found.user.id);
      const expiresAt = now + this.config.tokenTtlMs;
      await this.store.touchDevice(found.device.id, now, expiresAt);
      const session = { userId: found.user.id, username: found.user.username, deviceId: found.device.id };
      return { session, result: this.result(session, params.token, true, expiresAt) };
    }
    const user = await this.checkPassword(params.username, params.password, address);
    admit(user.id);
    return this.newDevice(user, params.deviceName, now);
  }

  async register(params: { username: string; password: string; deviceName?: string }, address: string): Promise<{ session: Session; result: LoginResult }> {
    const wait = this.registrations.take(address);
    if (wait > 0) throw new AppError('rate_limited', 'too many registrations from this address', wait);
    const now = this.now();
    const user = await this.store.createUser(params.username, await hashPassword(params.password), now);
    if (!user) throw new AppError('conflict', `username "${params.username}" is taken`);
    return this.newDevice(user, params.deviceName, now);
  }

  /** The session of a bearer token (HTTP): every request checks revocation and expiry. */
  async authenticate(token: string): Promise<Session> {
    const found = await this.store.findDevice(hashToken(token), this.now());
    if (!found) throw new AppError('unauthorized', BAD_TOKEN);
    return { userId: found.user.id, username: found.user.username, deviceId: found.device.id };
  }

  async devices(session: Session): Promise<DeviceInfo[]> {
    const list = await this.store.devices(session.userId, this.now());
    return list.map((d) => ({
      id: String(d.id), name: d.name ?? undefined, createdAt: d.createdAt, lastSeenAt: d.lastSeenAt,
      expiresAt: d.expiresAt ?? undefined, current: d.id === session.deviceId,
    }));
  }

  /** Revokes one of the user's own devices (this one included) and closes its connections everywhere. */
  async revokeDevice(session: Session, deviceId: string): Promise<{ revoked: number }> {
    const id = Number(deviceId);
    const revoked = Number.isSafeInteger(id) ? await this.store.revokeDevices(session.userId, [id], this.now()) : [];
    // Someone else's device and a device that does not exist look the same.
    if (revoked.length === 0) throw new AppError('not_found', 'no such device');
    this.hub.revokeDevices(session.userId, revoked);
    return { revoked: revoked.length };
  }

  logout(session: Session): Promise<{ revoked: number }> {
    return this.revokeDevice(session, String(session.deviceId));
  }

  /**
   * Sets a new password. The current one is required when there is one; every
   * other device of the user is logged out (a stolen session ends with it).
   */
  async changePassword(session: Session, params: { oldPassword?: string; newPassword: string }, address: string): Promise<{ revoked: number }> {
    const current = await this.store.passwordHash(session.userId);
    if (current !== null) {
      this.checkFailures(address, session.username);
      if (params.oldPassword === undefined || !(await verifyPassword(current, params.oldPassword))) {
        this.recordFailure(address, session.username);
        throw new AppError('forbidden', 'the current password is wrong');
      }
    }
    await this.store.setPasswordHash(session.userId, await hashPassword(params.newPassword));
    const revoked = await this.store.revokeDevices(session.userId, { allBut: session.deviceId }, this.now());
    this.hub.revokeDevices(session.userId, revoked);
    return { revoked: revoked.length };
  }

  private async checkPassword(username: string, password: string | undefined, address: string): Promise<StoredUser> {
    const account = await this.store.account(username);
    if (password === undefined) {
      if (this.config.authMode === 'password') throw new AppError('unauthorized', 'this server requires a password (AUTH_MODE=password)');
      // Open mode: the name is enough, unless its owner protected it with a password.
      if (account?.passwordHash) throw new AppError('unauthorized', 'this account has a password');
      return account ?? this.store.upsertUser(username, this.now());
    }
    if (!(await verifyPassword(account?.passwordHash ?? null, password)) || !account) {
      this.recordFailure(address, username);
      throw new AppError('unauthorized', BAD_CREDENTIALS);
    }
    return account;
  }

  private checkFailures(address: string, username: string | undefined): void {
    const wait = Math.max(this.failuresByAddress.check(address), username ? this.failuresByName.check(username.toLowerCase()) : 0);
    if (wait > 0) throw new AppError('rate_limited', 'too many failed log-ins; wait before trying again', wait);
  }

  private recordFailure(address: string, username: string): void {
    this.failuresByAddress.take(address);
    this.failuresByName.take(username.toLowerCase());
  }

  private async newDevice(user: StoredUser, name: string | undefined, now: number): Promise<{ session: Session; result: LoginResult }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + this.config.tokenTtlMs;
    const device = await this.store.createDevice(user.id, hashToken(token), now, expiresAt, name);
    const session = { userId: user.id, username: user.username, deviceId: device.id };
    return { session, result: this.result(session, token, false, expiresAt) };
  }

  private result(s: Session, token: string, resumed: boolean, expiresAt: number): LoginResult {
    return {
      user: { id: String(s.userId), username: s.username }, deviceId: String(s.deviceId), token, resumed,
      protocol: PROTOCOL_VERSION, expiresAt, authMode: this.config.authMode,
    };
  }
}
