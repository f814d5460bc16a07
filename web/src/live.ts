/**
 * Re-rendering from the SDK's events. The SDK's model is the state: views
 * read client.conversations() and friends while rendering; this hook only
 * says when to render again (coalescing bursts, e.g. a sync page, into one).
 */
import { useEffect, useState } from 'preact/hooks';
import type { ParleyClient } from '../../sdk/src/index.js';

const EVENTS = ['message', 'conversation', 'receipt', 'typing', 'presence', 'state', 'login', 'loggedOut', 'sendFailed'] as const;

export function useLive(client: ParleyClient, extra?: { subscribe(fn: () => void): () => void }): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bump = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        setVersion((v) => v + 1);
      }, 16);
    };
    const offs = EVENTS.map((e) => client.on(e, bump));
    if (extra) offs.push(extra.subscribe(bump));
    return () => {
      offs.forEach((off) => off());
      clearTimeout(timer);
    };
  }, [client, extra]);
  return version;
}

/** A tiny observable value holder for app state that is not the SDK's (presence, failures, ...). */
export class Signal {
  private readonly listeners = new Set<() => void>();
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  notify(): void {
    for (const fn of [...this.listeners]) fn();
  }
}
