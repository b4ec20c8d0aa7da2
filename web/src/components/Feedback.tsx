/** Loading, error and notice blocks used across pages. */
import { useLocation } from 'react-router';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status" data-testid="loading">
      {label}
    </p>
  );
}

export function ErrorNote({ message, testId }: { message: string | null; testId: string }) {
  if (!message) return null;
  return (
    <p className="error" role="alert" data-testid={testId}>
      {message}
    </p>
  );
}

export function NoRole() {
  return (
    <section className="card">
      <h1>Your account is not ready yet</h1>
      <p data-testid="no-role">
        This account has no role, so no page is open to it. Sign out and sign in again in a minute;
        if that does not help, contact support.
      </p>
    </section>
  );
}

/** A one-time notice passed by the previous page (`navigate(to, {state: {notice}})`). */
export function RouteNotice() {
  const location = useLocation();
  const notice = (location.state as { notice?: unknown } | null)?.notice;
  if (typeof notice !== 'string' || !notice) return null;
  return (
    <p className="notice" role="status" data-testid="notice">
      {notice}
    </p>
  );
}
