/** What a failed call means: its short code and the message to show a person. */
import { FirebaseError } from 'firebase/app';

/** A short code such as "failed-precondition" (or "auth/…", "permission-denied"), if any. */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof FirebaseError) return err.code.replace(/^functions\//, '');
  return undefined;
}

const FALLBACK_MESSAGES: Record<string, string> = {
  internal: 'Something went wrong on our side. Please try again.',
  unavailable: 'The server cannot be reached right now. Check your connection and try again.',
  'deadline-exceeded': 'The server took too long to answer. Please try again.',
  unauthenticated: 'Your sign-in has expired. Please sign in again.',
  'resource-exhausted': 'You have reached a limit for now. Please try again later.',
};

/** When the server says a limit lets the caller try again (`details.retryAt`), if it does. */
export function retryAt(err: unknown): Date | undefined {
  const details = (err as { details?: { retryAt?: unknown } } | null)?.details;
  if (typeof details?.retryAt !== 'string') return undefined;
  const when = new Date(details.retryAt);
  return Number.isNaN(when.getTime()) ? undefined : when;
}

/** What to show a person for a failed call: the server's own message where it has one. */
export function errorMessage(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message.trim() : '';
  // The SDK's own messages for transport failures are just the code ("internal").
  if (message && message !== code && !message.startsWith('Firebase: ')) {
    // a limit's moment in the reader's own time, not the server's UTC
    const when = retryAt(err);
    if (!when) return message;
    const local = when.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
    return message.replace(/\(after \d\d:\d\d UTC\)/, `(at ${local})`);
  }
  return (code && FALLBACK_MESSAGES[code]) || message || 'Something went wrong. Please try again.';
}
