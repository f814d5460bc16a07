/**
 * Sync tokens are opaque to clients. Today a token is a version tag and the
 * user's change position in base 36; the format may change, and the server
 * accepts every format it ever issued.
 */
const PREFIX = 'p1.';

export function encodeSyncToken(pos: number): string {
  return PREFIX + pos.toString(36);
}

/** Returns the position, or undefined when the token is not one we issued. */
export function decodeSyncToken(token: string): number | undefined {
  if (!token.startsWith(PREFIX) || token.length > PREFIX.length + 11) return undefined;
  const body = token.slice(PREFIX.length);
  if (!/^[0-9a-z]+$/.test(body)) return undefined;
  const pos = parseInt(body, 36);
  return Number.isSafeInteger(pos) ? pos : undefined;
}
