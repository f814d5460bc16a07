import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Store } from '../ports/store.js';

/**
 * Wraps a store so that any failure of the storage itself (a database that is
 * down or restarting) reaches clients as the retryable `unavailable`, never
 * as `internal`, and is logged and counted once.
 */
export function guardStore(store: Store, log: Logger, onError: () => void): Store {
  const fail = (method: string, err: unknown): never => {
    if (err instanceof AppError) throw err;
    onError();
    log.error({ err, method }, 'storage call failed');
    throw new AppError('unavailable', 'storage is unavailable; retry');
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          const r = (value as (...a: unknown[]) => unknown).apply(target, args);
          return r instanceof Promise ? r.catch((err: unknown) => fail(String(prop), err)) : r;
        } catch (err) {
          return fail(String(prop), err);
        }
      };
    },
  });
}
