/**
 * The Firestore side of the app (queries.ts, writes.ts and the SDK) for the code every page
 * shares: loaded on first use, so a signed-out visitor's first load (the sign-in page) carries
 * none of it. Pages import queries.ts and writes.ts directly: their chunks bring it along.
 */
import type { Unsubscribe } from 'firebase/firestore';

export const loadQueries = () => import('./queries');
export const loadWrites = () => import('./writes');

/**
 * A listener started once its module has loaded; the returned function stops it whether or not
 * it has started. A module that cannot load is reported to `onError`.
 */
export function listenWhenLoaded(
  started: Promise<Unsubscribe>,
  onError: (err: Error) => void,
): Unsubscribe {
  let stopped = false;
  let stop: Unsubscribe | null = null;
  started.then(
    (unsubscribe) => {
      if (stopped) unsubscribe();
      else stop = unsubscribe;
    },
    (err: unknown) => {
      if (!stopped) onError(err instanceof Error ? err : new Error(String(err)));
    },
  );
  return () => {
    stopped = true;
    stop?.();
  };
}
