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
};

/** What to show a person for a failed call: the server's own message where it has one. */
export function errorMessage(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message.trim() : '';
  // The SDK's own messages for transport failures are just the code ("internal").
  if (message && message !== code && !message.startsWith('Firebase: ')) return message;
  return (code && FALLBACK_MESSAGES[code]) || message || 'Something went wrong. Please try again.';
}
