/**
 * Who is logged in on this browser, and the SDK client for them. The SDK
 * keeps the session token, sync token and outbox in localStorage under a
 * per-user prefix, so a reload resumes the same device and sends nothing twice.
 */
import { ParleyClient, ParleyError, WebStorage, type ParleyClientOptions } from '../../sdk/src/index.js';

export type AuthMode = 'open' | 'password';

/** What the login form collects. `password` and `register` only in password mode. */
export interface Credentials {
  username: string;
  password?: string;
  register?: boolean;
}

const CURRENT_KEY = 'parley:current';
const userPrefix = (username: string) => `parley:u:${username.toLowerCase()}:`;

/** The server's login mode; a server without /v1/info only knows usernames. */
export async function fetchAuthMode(): Promise<AuthMode> {
  try {
    const r = await fetch('/v1/info', { headers: { accept: 'application/json' } });
    if (!r.ok) return 'open';
    const info = (await r.json()) as { authMode?: string };
    return info.authMode === 'password' ? 'password' : 'open';
  } catch {
    return 'open';
  }
}

export function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
}

/** The user whose session this browser resumes on load, if any. */
export function currentUser(): string | undefined {
  return localStorage.getItem(CURRENT_KEY) ?? undefined;
}

export function createClient(creds: Credentials): ParleyClient {
  // Named in both modes, so the Account dialog's device list says which browser is which.
  const auth: ParleyClientOptions['auth'] = creds.password === undefined
    ? { username: creds.username, deviceName: deviceName() }
    : { username: creds.username, password: creds.password, register: creds.register === true, deviceName: deviceName() };
  return new ParleyClient({
    url: wsUrl(),
    auth,
    storage: new WebStorage(userPrefix(creds.username)),
    // A person waits at the screen: retry sooner than the SDK's default ceiling of 30 s.
    backoff: { initialMs: 250, maxMs: 5000 },
  });
}

/** A name for this device in the user's device list: the browser and platform. */
function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return `${browser}${os ? ` on ${os}` : ''} (web)`.slice(0, 64);
}

/** Whether this browser holds a session for the user (a reload can resume without a password). */
export function hasSession(username: string): boolean {
  return localStorage.getItem(`${userPrefix(username)}session`) !== null;
}

export function remember(username: string): void {
  localStorage.setItem(CURRENT_KEY, username);
}

/** Logs out on this browser: forgets the session, sync token and unsent messages of the user. */
export function forget(username: string | undefined): void {
  localStorage.removeItem(CURRENT_KEY);
  if (!username) return;
  const prefix = userPrefix(username);
  const keys: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (k?.startsWith(prefix)) keys.push(k);
  }
  for (const k of keys) localStorage.removeItem(k);
}

/** Errors on which logging in will not succeed by retrying: the form shows them. */
const FINAL = new Set(['unauthorized', 'bad_request', 'forbidden', 'not_found', 'conflict', 'too_large']);

/**
 * Starts a client and resolves once it has logged in, or rejects with the
 * server's reason when the login is refused (the client is then closed).
 * While the server cannot be reached it keeps trying; `onWaiting` says so.
 */
export function logIn(client: ParleyClient, onWaiting?: (why: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const done = () => offs.forEach((off) => off());
    offs.push(client.on('login', () => {
      done();
      resolve();
    }));
    // Refused credentials end the session (loggedOut). A stored session whose token the
    // server no longer takes, with no password to renew it, keeps failing: stop that too.
    offs.push(client.on('loggedOut', (e: ParleyError) => {
      done();
      reject(e);
    }));
    offs.push(client.on('warning', (e: ParleyError) => {
      if (FINAL.has(e.code)) {
        done();
        client.close();
        reject(e);
      }
    }));
    offs.push(client.on('state', (s) => {
      if (s === 'offline') onWaiting?.('Cannot reach the server. Trying again…');
    }));
    client.start().catch(() => { /* reported through loggedOut above */ });
  });
}
