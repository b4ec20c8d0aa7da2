/**
 * The expected wait shown on the request form before the card step (`quote_wait`): asked for
 * when a category is chosen, again when it changes and again when the quote expires (at once if
 * the page is visible, else when it is shown again), so what the customer reads is what the
 * request will store.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { quoteWait, type WaitQuote } from './callables';
import { errorCode, errorMessage } from './errors';
import { millis, type Category, type ServiceRequest } from './model';

/** The promise: a helper claims within 15 minutes; a longer expected wait is said plainly. */
export const PROMISE_MINUTES = 15;

/**
 * The shortest a quote is trusted on this device's clock: a clock ahead of the server's must
 * not make every quote look expired on arrival (and ask again in a loop). The server's own
 * check stays the judge: `create_request` refuses an expired quote and the form asks again.
 */
const MIN_QUOTE_LIFE_MS = 20_000;

export interface QuoteState {
  /** The quote shown, for the chosen category only; null while there is none. */
  quote: WaitQuote | null;
  /** A call is running (the first for the category, or a refresh: the old quote stays shown). */
  loading: boolean;
  error: string | null;
}

export interface WaitQuoteHandle extends QuoteState {
  /** Ask again now (a retry, an expired quote); resolves to the new quote, if any. */
  refresh: () => Promise<WaitQuote | null>;
  /** Whether the quote shown has expired (by this device's clock, see MIN_QUOTE_LIFE_MS). */
  expired: () => boolean;
}

export function useWaitQuote(category: Category | ''): WaitQuoteHandle {
  const [state, setState] = useState<QuoteState>({ quote: null, loading: false, error: null });
  const asked = useRef(0); // answers to an older question (another category) are dropped
  const deadline = useRef(0);

  const ask = useCallback(async (): Promise<WaitQuote | null> => {
    if (!category) return null;
    const question = ++asked.current;
    setState((prev) => ({ ...prev, loading: true, error: null }));
    try {
      const quote = await quoteWait({ category });
      if (question !== asked.current) return null;
      const expiresAt = Date.parse(quote.expiresAt);
      const left = Number.isFinite(expiresAt) ? expiresAt - Date.now() : MIN_QUOTE_LIFE_MS;
      deadline.current = Date.now() + Math.max(left, MIN_QUOTE_LIFE_MS);
      setState({ quote, loading: false, error: null });
      return quote;
    } catch (err) {
      if (question !== asked.current) return null;
      console.warn(err);
      const message =
        errorCode(err) === 'resource-exhausted'
          ? errorMessage(err)
          : `The expected wait could not be loaded: ${errorMessage(err)}`;
      setState({ quote: null, loading: false, error: message });
      return null;
    }
  }, [category]);

  // A new category: forget the old quote at once (it speaks of another category), ask anew.
  useEffect(() => {
    asked.current += 1;
    deadline.current = 0;
    setState({ quote: null, loading: false, error: null });
    if (category) void ask();
  }, [category, ask]);

  // An expired quote: ask again when it expires, or when the page is next seen.
  const quote = state.quote;
  useEffect(() => {
    if (!quote) return undefined;
    let listening = false;
    const onVisible = () => {
      if (document.visibilityState !== 'visible') return;
      document.removeEventListener('visibilitychange', onVisible);
      listening = false;
      void ask();
    };
    const timer = window.setTimeout(
      () => {
        if (document.visibilityState === 'visible') {
          void ask();
        } else {
          listening = true;
          document.addEventListener('visibilitychange', onVisible);
        }
      },
      Math.max(0, deadline.current - Date.now()),
    );
    return () => {
      window.clearTimeout(timer);
      if (listening) document.removeEventListener('visibilitychange', onVisible);
    };
  }, [quote, ask]);

  const expired = useCallback(() => deadline.current <= Date.now(), []);
  return { ...state, refresh: ask, expired };
}

/** "about 7 minutes": at least one minute, whole minutes. */
export function aboutMinutes(minutes: number): string {
  const whole = Math.max(1, Math.round(minutes));
  return `${whole} minute${whole === 1 ? '' : 's'}`;
}

/** The p90 as "9 in 10 within 12", rounded up (a promise, not a guess). */
export function p90Text(minutes: number): string {
  return `9 in 10 within ${Math.max(1, Math.ceil(minutes))}`;
}

/**
 * Whether `create_request` refused the quote itself (failed-precondition: expired, "the wait
 * shown is out of date: ask again", or already used, "this wait was shown for another request";
 * invalid-argument: unknown or another category's, naming `quoteId`), as opposed to the card or
 * a limit.
 */
export function quoteRefused(err: unknown, expiredHere: boolean): boolean {
  const code = errorCode(err);
  if (code !== 'failed-precondition' && code !== 'invalid-argument') return false;
  const message = err instanceof Error ? err.message : '';
  const aboutTheQuote = /quote|\bwait (was )?shown\b/i.test(message);
  return aboutTheQuote || (code === 'failed-precondition' && expiredHere);
}

/** How a paid request waiting for a helper is doing, for its customer: how long so far beside
 * the wait shown; past the 15-minute promise, `late` (the server's LATE_AFTER_MINUTES, by
 * default the same 15 but a deploy setting, then gives its rounds to newer requests; it stays
 * on the board until it expires). Null when it is not waiting for a helper. `now` is this
 * device's clock (a wrong one moves the minutes, nothing else). */
export function waitingNote(
  request: ServiceRequest,
  now: number,
): { late: boolean; waited: number; text: string } | null {
  const since = millis(request.dispatchableAt);
  if (request.status !== 'pending' || request.paymentStatus !== 'authorized' || !since) {
    return null;
  }
  const waited = Math.max(0, Math.floor((now - since) / 60_000));
  if (now - since > PROMISE_MINUTES * 60_000) {
    return {
      late: true,
      waited,
      text:
        `This is taking longer than the ${PROMISE_MINUTES} minutes we aim for: every helper` +
        ' can still see your request and take it. If you would rather not wait, cancel it and' +
        ' the hold on your card is released.',
    };
  }
  const shown = request.quote?.expectedMinutes;
  const said = shown ? ` We said about ${aboutMinutes(shown)}.` : '';
  const sofar = waited < 1 ? 'less than a minute' : aboutMinutes(waited);
  return { late: false, waited, text: `Waiting for ${sofar} so far.${said}` };
}
