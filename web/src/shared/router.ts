// A small History-API router. Pages use plain `<a href="/app/...">` links;
// a click on one is turned into a pushState here, so links stay real links
// (open in a new tab, copy address) and need no special component.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/app';

export interface Location {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();
/** True once the app has changed page itself: pages then move focus to their heading. */
let navigatedInApp = false;

function read(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

function emit(): void {
  for (const listener of listeners) listener();
}

export function hasNavigated(): boolean {
  return navigatedInApp;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.href);
  const target = url.pathname + url.search + url.hash;
  if (target === window.location.pathname + window.location.search + window.location.hash) return;
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  navigatedInApp = true;
  if (!options.replace) window.scrollTo(0, 0);
  emit();
}

/** Changes the query string only (filters, ranges), keeping the path. */
export function setQuery(changes: Record<string, string | null>, options: { replace?: boolean } = {}): void {
  const query = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === '') query.delete(key);
    else query.set(key, value);
  }
  const text = query.toString();
  navigate(window.location.pathname + (text ? `?${text}` : ''), options);
}

export function useLocation(): Location {
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const update = () => setLocation(read());
    listeners.add(update);
    update(); // a change between the first render and this effect
    return () => {
      listeners.delete(update);
    };
  }, []);
  return location;
}

/**
 * Matches `/app/stores/:storeId/orders` against a path; returns the
 * parameters (decoded) or null. A trailing slash is ignored.
 */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return null;
      }
    } else if (w !== h) {
      return null;
    }
  }
  return params;
}

function onClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || !anchor.href || anchor.hasAttribute('download')) return;
  if (anchor.target && anchor.target !== '_self') return;
  const url = new URL(anchor.href);
  if (url.origin !== window.location.origin) return;
  if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

/** Starts listening to link clicks and Back/Forward. Call once. */
export function startRouter(): void {
  document.addEventListener('click', onClick);
  window.addEventListener('popstate', () => {
    navigatedInApp = true;
    emit();
  });
}
