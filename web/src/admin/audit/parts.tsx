/** Small pieces the audit trail's sections share: a live list's states, a section, a chip. */
import type { ReactNode } from 'react';
import type { Timestamp } from 'firebase/firestore';
import { ErrorNote, Loading } from '../../components/Feedback';
import type { Live } from '../../hooks';
import { humanize } from '../../model';

/** A live list in its other states (error, loading, empty), else its items. */
export function LiveList<T>({
  live,
  what,
  testId,
  empty,
  children,
}: {
  live: Live<T[]>;
  what: string;
  testId: string;
  empty: string;
  children: (items: T[]) => ReactNode;
}) {
  if (live.error) {
    return (
      <ErrorNote
        message={`The ${what} could not be loaded (${live.error.message}).`}
        testId={`${testId}-error`}
      />
    );
  }
  if (live.loading) return <Loading label={`Loading the ${what}…`} />;
  if (!live.data?.length) {
    return (
      <p className="muted" data-testid={`${testId}-empty`}>
        {empty}
      </p>
    );
  }
  return <>{children(live.data)}</>;
}

export function Section({
  title,
  count,
  children,
}: {
  title: string;
  count?: number | undefined;
  children: ReactNode;
}) {
  return (
    <div className="audit-section">
      <h3>
        {title}
        {count !== undefined && <span className="badge muted">{count}</span>}
      </h3>
      {children}
    </div>
  );
}

export function StatusChip({ status }: { status: string }) {
  return <span className={`chip chip-${status}`}>{humanize(status)}</span>;
}

/** Seconds from one timestamp to another, or null when either is missing. */
export function seconds(from: Timestamp | null | undefined, to: Timestamp | null | undefined) {
  return from && to ? (to.toMillis() - from.toMillis()) / 1000 : null;
}

