import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** The app's pages; the server answers every one of these paths with the app (web-app.ts). */
export type Route =
  | { name: 'map' }
  | { name: 'report' }
  | { name: 'incident'; ref: string }
  | { name: 'signin' }
  | { name: 'register' }
  | { name: 'mine' }
  | { name: 'staff'; rest: string }
  | { name: 'admin'; rest: string }
  | { name: 'not-found' };

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { name: 'map' };
  if (path === '/report') return { name: 'report' };
  if (path === '/signin') return { name: 'signin' };
  if (path === '/register') return { name: 'register' };
  if (path === '/me') return { name: 'mine' };
  const incident = /^\/incidents\/([A-Za-z0-9-]{1,64})$/.exec(path);
  if (incident) return { name: 'incident', ref: decodeURIComponent(incident[1]!) };
  const area = /^\/(staff|admin)(\/.*)?$/.exec(path);
  if (area) return { name: area[1] as 'staff' | 'admin', rest: area[2] ?? '' };
  return { name: 'not-found' };
}

const NAVIGATE = 'buurtwag:navigate';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATE, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATE, listener);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname + location.search);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE));
  window.scrollTo(0, 0);
}

/** A real link (works without JS, opens in a new tab) that moves within the app on a plain click. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    ) {
      return;
    }
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}
