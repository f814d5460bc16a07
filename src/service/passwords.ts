import argon2 from 'argon2';

/**
 * Password hashing: argon2id with the OWASP baseline (19 MiB, 2 passes, 1
 * lane), about 40 ms on one core of the reference machine. Hashing runs on
 * libuv's thread pool, off the event loop.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

/** A hash of nothing anyone knows: verified against when the user does not exist, so that timing reveals nothing. */
let dummy: Promise<string> | undefined;

export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (hash === null) {
    dummy ??= argon2.hash(`no such user ${Math.random()}`, OPTIONS);
    await argon2.verify(await dummy, password);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // a malformed stored hash never lets anyone in
  }
}
