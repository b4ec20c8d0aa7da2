/** Small React hooks shared by the pages. */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { FirestoreError, Unsubscribe } from 'firebase/firestore';
import { errorMessage } from './errors';

export interface Action<Args extends unknown[], Result> {
  /** Runs the call unless one is already running; resolves undefined on failure. */
  run: (...args: Args) => Promise<Result | undefined>;
  busy: boolean;
  error: string | null;
  clearError: () => void;
}

/** Run an async call with a busy flag (for disabling buttons) and its error message. */
export function useAction<Args extends unknown[], Result>(
  fn: (...args: Args) => Promise<Result>,
): Action<Args, Result> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const running = useRef(false); // a double-click lands before React re-renders `busy`
  const latest = useRef(fn);
  latest.current = fn;

  const run = useCallback(async (...args: Args) => {
    if (running.current) return undefined;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      return await latest.current(...args);
    } catch (err) {
      console.warn(err);
      setError(errorMessage(err));
      return undefined;
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);

  const clearError = useCallback(() => setError(null), []);
  return { run, busy, error, clearError };
}

export interface Live<T> {
  data: T | undefined;
  error: FirestoreError | null;
  loading: boolean;
}

/**
 * Follow a Firestore listener from queries.ts while `key` is non-null; restarts when key changes.
 */
export function useLive<T>(
  key: string | null,
  subscribe: (onNext: (value: T) => void, onError: (err: FirestoreError) => void) => Unsubscribe,
): Live<T> {
  const [state, setState] = useState<Live<T>>({ data: undefined, error: null, loading: !!key });
  const latest = useRef(subscribe);
  latest.current = subscribe;

  useEffect(() => {
    setState({ data: undefined, error: null, loading: key !== null });
    if (key === null) return undefined;
    return latest.current(
      (data) => setState({ data, error: null, loading: false }),
      (error) => setState((prev) => ({ data: prev.data, error, loading: false })),
    );
  }, [key]);

  return state;
}
