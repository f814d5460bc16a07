/** The app's location in the URL hash, so reload and the Back button keep your place. */
import { useEffect, useState } from 'preact/hooks';

export type Route = { kind: 'home' } | { kind: 'conversation'; id: string } | { kind: 'draft'; to: string };

export function parseRoute(hash: string): Route {
  const c = /^#\/c\/(\d{1,15})$/.exec(hash);
  if (c) return { kind: 'conversation', id: c[1]! };
  const t = /^#\/to\/([A-Za-z0-9][A-Za-z0-9_.-]{2,31})$/.exec(hash);
  if (t) return { kind: 'draft', to: t[1]! };
  return { kind: 'home' };
}

export const hrefOf = (r: Route): string => (r.kind === 'conversation' ? `#/c/${r.id}` : r.kind === 'draft' ? `#/to/${r.to}` : '#/');

export function go(r: Route, replace = false): void {
  const href = hrefOf(r);
  if (location.hash === href) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    window.addEventListener('popstate', on);
    return () => {
      window.removeEventListener('hashchange', on);
      window.removeEventListener('popstate', on);
    };
  }, []);
  return route;
}
