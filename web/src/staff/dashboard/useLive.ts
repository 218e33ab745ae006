// Keeps the dashboard live: opens the store's stream while the page is
// shown and hands each message to the latest handlers (kept in a ref, so a
// re-render never reopens the socket).
import { useEffect, useRef, useState } from 'preact/hooks';
import { openStream, type StreamStatus } from '../../shared/stream';
import type { LiveMessage } from '../../shared/types';

export interface LiveHandlers {
  onMessage(message: LiveMessage): void;
  onResync(reason: string): void;
}

export function useLive(storeId: string, handlers: LiveHandlers): StreamStatus {
  const [status, setStatus] = useState<StreamStatus>('reconnecting');
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const stream = openStream(storeId, {
      onMessage: (m) => latest.current.onMessage(m),
      onResync: (r) => latest.current.onResync(r),
      onStatus: setStatus,
    });
    return () => stream.close();
  }, [storeId]);
  return status;
}

/**
 * Calls `fn` once, `ms` after the last of a burst of calls, and at least
 * every `maxMs` while calls keep coming (a busy store's events never stop
 * long enough for a plain debounce to fire).
 */
export function useDebounced(fn: () => void, ms: number, maxMs = ms * 5): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef<number | undefined>(undefined);
  const firstCall = useRef<number | null>(null);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const call = useRef(() => {
    const now = Date.now();
    firstCall.current ??= now;
    const wait = Math.max(0, Math.min(ms, firstCall.current + maxMs - now));
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      firstCall.current = null;
      latest.current();
    }, wait);
  });
  return call.current;
}
