/**
 * Where the SDK keeps what must survive a reload or a crash: the session
 * token, the sync token and the outbox of unacknowledged sends. Values are
 * strings (JSON); writes are synchronous so that a send is stored before
 * `send()` returns.
 */
export interface KeyValueStorage {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
}

/** The default: kept in memory, lost when the process ends. */
export class MemoryStorage implements KeyValueStorage {
  private readonly map = new Map<string, string>();
  get(key: string): string | undefined {
    return this.map.get(key);
  }
  set(key: string, value: string): void {
    this.map.set(key, value);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}

/** The part of the Web Storage API used (localStorage, sessionStorage). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Browser localStorage (or any Web Storage), with every key under `prefix`. */
export class WebStorage implements KeyValueStorage {
  private readonly storage: WebStorageLike;

  constructor(private readonly prefix = 'parley:', storage?: WebStorageLike) {
    const ls = storage ?? (globalThis as { localStorage?: WebStorageLike }).localStorage;
    if (!ls) throw new Error('WebStorage needs localStorage (a browser) or a storage argument');
    this.storage = ls;
  }
  get(key: string): string | undefined {
    return this.storage.getItem(this.prefix + key) ?? undefined;
  }
  set(key: string, value: string): void {
    this.storage.setItem(this.prefix + key, value);
  }
  delete(key: string): void {
    this.storage.removeItem(this.prefix + key);
  }
}
