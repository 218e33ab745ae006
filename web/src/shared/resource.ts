// One thing a panel reads from the API, with the three states every panel
// shows honestly: loading, ready (possibly empty) and error (with retry).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type ApiProblem, isAbort, toProblem } from './problem';

export type Resource<T> =
  | { status: 'loading'; data: undefined; error: null }
  | { status: 'ready'; data: T; error: null }
  | { status: 'error'; data: undefined; error: ApiProblem };

export type ResourceHandle<T> = Resource<T> & {
  /** Read again from scratch, showing the loading state (after an error). */
  reload(): void;
  /** Read again while still showing what is there (a live update). */
  refresh(): void;
  /** Show this instead (an answer the API gave to a change, e.g. the updated order). */
  set(data: T): void;
};

/**
 * Runs `load` when `deps` change, aborting the previous read so a slow old
 * answer never overwrites a newer one.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): ResourceHandle<T> {
  const [state, setState] = useState<Resource<T>>({ status: 'loading', data: undefined, error: null });
  const [nonce, setNonce] = useState(0);
  const quiet = useRef(false);

  useEffect(() => {
    const controller = new AbortController();
    const isQuiet = quiet.current;
    quiet.current = false;
    // (Returning the same object when already loading spares a render.)
    if (!isQuiet) setState((previous) => (previous.status === 'loading' ? previous : { status: 'loading', data: undefined, error: null }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: 'ready', data, error: null });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        const problem = toProblem(error);
        // A failed background refresh keeps the figures shown; the next
        // live event or a reload tries again.
        setState((previous) =>
          isQuiet && previous.status === 'ready' ? previous : { status: 'error', data: undefined, error: problem },
        );
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- deps are the caller's
  }, [...deps, nonce]);

  // The same handle until the state changes, so panels given it can skip
  // re-rendering (see memo.ts).
  const actions = useMemo(
    () => ({
      reload: () => setNonce((n) => n + 1),
      refresh: () => {
        quiet.current = true;
        setNonce((n) => n + 1);
      },
      set: (data: T) => setState({ status: 'ready', data, error: null }),
    }),
    [],
  );
  return useMemo(() => ({ ...state, ...actions }), [state, actions]);
}
