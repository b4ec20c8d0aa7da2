/**
 * `/admin`: the audit trail of one request (`?request=ID`): its fields, transitions, dispatch
 * rounds with their targets, and the analytics events about it (notifications sent among them).
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Timestamp } from 'firebase/firestore';
import { useLive, type Live } from '../hooks';
import {
  PAYMENT_LABELS,
  PROMISE_SECONDS,
  categoryLabel,
  formatInstant,
  formatMinSec,
  formatMoney,
  formatTime,
  humanize,
  type AnalyticsEvent,
  type DispatchRound,
  type DispatchTarget,
  type RequestEvent,
  type ServiceRequest,
} from '../model';
import {
  RECENT_REQUESTS_LIMIT,
  watchDispatchRounds,
  watchDispatchTargets,
  watchRecentRequests,
  watchRequest,
  watchRequestAnalytics,
  watchRequestEvents,
} from '../queries';
import { ErrorNote, Loading } from './Feedback';

/** The URL query parameter that names the selected request. */
export const REQUEST_PARAM = 'request';

export function AuditTrail() {
  const [params, setParams] = useSearchParams();
  const selected = params.get(REQUEST_PARAM)?.trim() || null;
  const [draft, setDraft] = useState(selected ?? '');
  const [inputError, setInputError] = useState<string | null>(null);

  // Follow the URL (a recent request clicked, back / forward).
  useEffect(() => {
    setDraft(selected ?? '');
    setInputError(null);
  }, [selected]);

  const open = (event: FormEvent) => {
    event.preventDefault();
    const id = draft.trim();
    const problem = requestIdProblem(id);
    setInputError(problem);
    if (problem) return;
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      next.set(REQUEST_PARAM, id);
      return next;
    });
  };

  const invalid = selected ? requestIdProblem(selected) : null;
  return (
    <section className="card audit" aria-labelledby="audit-title">
      <div className="audit-lookup">
        <h2 id="audit-title">Request audit trail</h2>
        <form className="lookup-form" onSubmit={open}>
          <label className="field grow">
            Request id
            <input
              value={draft}
              onChange={(event) => setDraft(event.target.value)}
              placeholder="e.g. 3fK9c…"
              autoComplete="off"
              spellCheck={false}
              data-testid="audit-request-input"
            />
          </label>
          <button type="submit" data-testid="audit-open">
            Open
          </button>
        </form>
        <ErrorNote message={inputError} testId="audit-input-error" />
      </div>
      <div className="audit-detail">
        {selected === null ? (
          <p className="muted" data-testid="audit-none">
            Enter a request id, or pick one of the recent requests, to see its audit trail.
          </p>
        ) : invalid ? (
          <ErrorNote message={invalid} testId="audit-request-error" />
        ) : (
          <RequestAudit key={selected} requestId={selected} />
        )}
      </div>
      <RecentRequests selected={selected} />
    </section>
  );
}

/** Why `id` cannot be a request document id (Firestore's rules for ids), or null. */
function requestIdProblem(id: string): string | null {
  if (!id) return 'Enter a request id.';
  if (id.includes('/')) return `"${id}" is not a request id: an id has no "/".`;
  if (id === '.' || id === '..' || /^__.*__$/.test(id)) return `"${id}" is not a request id.`;
  if (id.length > 1500) return 'That is too long for a request id.';
  return null;
}

function RecentRequests({ selected }: { selected: string | null }) {
  const recent = useLive('recent-requests', watchRecentRequests);
  const [params] = useSearchParams();
  const linkTo = (id: string) => {
    const next = new URLSearchParams(params);
    next.set(REQUEST_PARAM, id);
    return `?${next.toString()}`;
  };

  return (
    <div className="audit-recent">
      <h3>Recent requests</h3>
      <LiveList
        live={recent}
        what="recent requests"
        testId="recent-requests"
        empty="No requests yet."
      >
        {(recentData) => (
          <ul className="recent-list" aria-label={`The ${RECENT_REQUESTS_LIMIT} newest requests`}>
            {recentData.map((request) => (
              <li key={request.id}>
                <Link
                  to={linkTo(request.id)}
                  className={request.id === selected ? 'recent active' : 'recent'}
                  aria-current={request.id === selected ? 'true' : undefined}
                  data-testid="recent-request"
                  data-request-id={request.id}
                  data-status={request.status}
                >
                  <span className="recent-head">
                    <strong>{categoryLabel(request.category)}</strong>
                    <StatusChip status={request.status} />
                  </span>
                  <code className="recent-id">{request.id}</code>
                  <small className="muted">
                    {formatTime(request.createdAt)} · {formatMoney(request.amount, request.currency)}
                  </small>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </LiveList>
    </div>
  );
}

function StatusChip({ status }: { status: string }) {
  return <span className={`chip chip-${status}`}>{humanize(status)}</span>;
}

function RequestAudit({ requestId }: { requestId: string }) {
  const request = useLive<ServiceRequest | null>(requestId, (onNext, onError) =>
    watchRequest(requestId, onNext, onError),
  );
  if (request.loading) return <Loading label="Loading the request…" />;
  if (request.error) {
    return (
      <ErrorNote
        message={`The request could not be loaded (${request.error.message}).`}
        testId="audit-request-error"
      />
    );
  }
  if (!request.data) {
    return (
      <ErrorNote message={`No request has the id "${requestId}".`} testId="audit-request-error" />
    );
  }
  return (
    <div className="stack">
      <RequestFields request={request.data} />
      <Events requestId={requestId} />
      <Rounds requestId={requestId} />
      <Notifications requestId={requestId} />
    </div>
  );
}

// ---------------------------------------------------------------- the request document

function isoOf(ts: Timestamp | null | undefined): string {
  return ts ? ts.toDate().toISOString() : '';
}

function seconds(from: Timestamp | null | undefined, to: Timestamp | null | undefined) {
  return from && to ? (to.toMillis() - from.toMillis()) / 1000 : null;
}

interface Field {
  name: string;
  label: string;
  value: ReactNode;
  raw: string | number;
}

function RequestFields({ request }: { request: ServiceRequest }) {
  const firstClaim = request.firstClaimedAt ?? request.claimedAt;
  const timeToClaim = seconds(request.dispatchableAt, firstClaim);
  const time = (name: keyof ServiceRequest, label: string): Field => {
    const ts = request[name] as Timestamp | null | undefined;
    return { name, label, value: formatInstant(ts), raw: isoOf(ts) };
  };
  const count = (name: keyof ServiceRequest, label: string): Field => {
    const value = request[name] as number | null | undefined;
    return { name, label, value: value ?? '—', raw: value ?? '' };
  };
  const text = (name: keyof ServiceRequest, label: string, mono = false): Field => {
    const value = request[name] as string | null | undefined;
    const shown = mono && value ? <code>{value}</code> : value;
    return { name, label, value: shown || '—', raw: value ?? '' };
  };

  const fields: Field[] = [
    {
      name: 'status',
      label: 'Status',
      value: <StatusChip status={request.status} />,
      raw: request.status,
    },
    {
      name: 'paymentStatus',
      label: 'Payment',
      value: PAYMENT_LABELS[request.paymentStatus] ?? request.paymentStatus,
      raw: request.paymentStatus,
    },
    {
      name: 'category',
      label: 'Category',
      value: categoryLabel(request.category),
      raw: request.category,
    },
    {
      name: 'amount',
      label: 'Amount',
      value: formatMoney(request.amount, request.currency),
      raw: request.amount,
    },
    text('customerId', 'Customer', true),
    {
      name: 'helperId',
      label: 'Helper',
      value: request.helperId ? (
        <>
          {request.helperDisplayName && `${request.helperDisplayName} · `}
          <code>{request.helperId}</code>
        </>
      ) : (
        '—'
      ),
      raw: request.helperId ?? '',
    },
    time('createdAt', 'Created'),
    time('dispatchableAt', 'Dispatchable'),
    time('firstClaimedAt', 'First claimed'),
    time('claimedAt', 'Claimed'),
    count('releaseCount', 'Releases'),
    count('dispatchRound', 'Rounds sent'),
    count('version', 'Version'),
  ];
  // Present only on some requests: shown when set.
  const extras: Field[] = [
    time('pendingSince', 'Pending since'),
    text('sessionId', 'Session', true),
    text('outcome', 'Outcome'),
    time('completedAt', 'Completed'),
    time('cancelledAt', 'Cancelled'),
    text('cancelledBy', 'Cancelled by', true),
    text('cancelReason', 'Cancel reason'),
    time('expiredAt', 'Expired'),
    text('paymentOwed', 'Payment owed'),
    time('updatedAt', 'Updated'),
  ].filter((field) => field.raw !== '');

  return (
    <div
      className="audit-request"
      data-testid="audit-request"
      data-request-id={request.id}
      data-status={request.status}
      data-payment-status={request.paymentStatus}
    >
      <div className="card-title">
        <h3>
          {categoryLabel(request.category)} request <code className="break">{request.id}</code>
        </h3>
        {timeToClaim !== null && (
          <span
            className={timeToClaim <= PROMISE_SECONDS ? 'chip chip-good' : 'chip chip-warn'}
            data-testid="audit-time-to-claim"
            data-value={timeToClaim}
          >
            Claimed after {formatMinSec(timeToClaim)}
          </span>
        )}
      </div>
      {request.description && <p className="description">{request.description}</p>}
      <dl className="facts audit-facts">
        {[...fields, ...extras].map((field) => (
          <FieldRow key={field.name} field={field} />
        ))}
      </dl>
    </div>
  );
}

function FieldRow({ field }: { field: Field }) {
  return (
    <>
      <dt>{field.label}</dt>
      <dd data-testid={`audit-field-${field.name}`} data-value={field.raw}>
        {field.value}
      </dd>
    </>
  );
}

// ---------------------------------------------------------------- events

/** A live list in its other states (error, loading, empty), else its items. */
function LiveList<T>({
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

function Section({
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

function actorLabel(event: RequestEvent): ReactNode {
  const actor = event.actor;
  if (!actor) return '—';
  return (
    <>
      {actor.role}
      {actor.uid && (
        <>
          {' '}
          <code>{actor.uid}</code>
        </>
      )}
    </>
  );
}

function Events({ requestId }: { requestId: string }) {
  const events = useLive<RequestEvent[]>(requestId, (onNext, onError) =>
    watchRequestEvents(requestId, onNext, onError),
  );
  return (
    <Section title="Transitions" count={events.data?.length}>
      <LiveList
        live={events}
        what="audit events"
        testId="audit-events"
        empty="No audit events."
      >
        {(eventsData) => (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Event</th>
                  <th>From → to</th>
                  <th>Actor</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {eventsData.map((event) => (
                  <tr
                    key={event.id}
                    data-testid="audit-event"
                    data-id={event.id}
                    data-type={event.type}
                    data-from={event.from ?? ''}
                    data-to={event.to ?? ''}
                    data-actor-role={event.actor?.role ?? ''}
                  >
                    <td className="nowrap">{formatInstant(event.at)}</td>
                    <td>{humanize(event.type)}</td>
                    <td className="nowrap">
                      {event.from ?? '∅'} → {event.to ?? '∅'}
                    </td>
                    <td>{actorLabel(event)}</td>
                    <td>{event.reason ? humanize(event.reason) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LiveList>
    </Section>
  );
}

// ---------------------------------------------------------------- dispatch rounds

function Rounds({ requestId }: { requestId: string }) {
  const rounds = useLive<DispatchRound[]>(requestId, (onNext, onError) =>
    watchDispatchRounds(requestId, onNext, onError),
  );
  return (
    <Section title="Dispatch rounds" count={rounds.data?.length}>
      <LiveList
        live={rounds}
        what="dispatch rounds"
        testId="audit-rounds"
        empty="No dispatch rounds yet."
      >
        {(roundsData) => (
          <ol className="rounds">
            {roundsData.map((round) => (
              <Round key={round.id} requestId={requestId} round={round} />
            ))}
          </ol>
        )}
      </LiveList>
    </Section>
  );
}

const ROUND_COUNTS: [keyof DispatchRound, string][] = [
  ['helpersTargeted', 'helpers'],
  ['devicesTargeted', 'devices'],
  ['sent', 'sent'],
  ['failed', 'failed'],
  ['tokensPruned', 'pruned'],
  ['smsSent', 'SMS'],
];

function Round({ requestId, round }: { requestId: string; round: DispatchRound }) {
  const targets = useLive<DispatchTarget[]>(`${requestId}/${round.id}`, (onNext, onError) =>
    watchDispatchTargets(requestId, round.id, onNext, onError),
  );
  const took = seconds(round.startedAt, round.finishedAt);
  return (
    <li
      className="round"
      data-testid="audit-round"
      data-round-key={round.id}
      data-round={round.round ?? ''}
      data-sent={round.sent ?? ''}
      data-failed={round.failed ?? ''}
    >
      <div className="round-head">
        <strong>
          Round {round.round ?? '?'} <code>{round.id}</code>
        </strong>
        {round.reason && <span className="muted">{humanize(round.reason)}</span>}
      </div>
      <ul className="round-counts">
        {ROUND_COUNTS.map(([name, label]) => {
          const value = round[name] as number | null | undefined;
          return (
            <li key={name} className={name === 'failed' && value ? 'bad' : undefined}>
              <strong data-testid={`audit-round-${name}`}>{value ?? '—'}</strong> {label}
            </li>
          );
        })}
      </ul>
      <small className="muted">
        Started {formatInstant(round.startedAt)}
        {round.finishedAt
          ? ` · finished ${formatInstant(round.finishedAt)}${
              took !== null ? ` (${took.toFixed(1)} s)` : ''
            }`
          : ' · not finished'}
      </small>
      {targets.error ? (
        <ErrorNote
          message={`The round's targets could not be loaded (${targets.error.message}).`}
          testId="audit-targets-error"
        />
      ) : targets.loading ? null : !targets.data?.length ? (
        <small className="muted">No helper was targeted.</small>
      ) : (
        <ul className="targets" aria-label="Targeted helpers">
          {targets.data.map((target) => (
            <li
              key={target.id}
              className="target"
              data-testid="audit-target"
              data-uid={target.id}
              data-devices={target.devices ?? ''}
            >
              <code>{target.id}</code>
              <span className="muted">
                {target.devices ?? 0} {target.devices === 1 ? 'device' : 'devices'}
              </span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

// ---------------------------------------------------------------- notifications and analytics

function numberOf(value: unknown): string {
  return typeof value === 'number' ? String(value) : '—';
}

function details(event: AnalyticsEvent): ReactNode {
  const metadata = event.metadata ?? {};
  if (event.type === 'notification_sent') {
    const failed = typeof metadata.failed === 'number' ? metadata.failed : 0;
    const kind = typeof metadata.notificationType === 'string' ? metadata.notificationType : '—';
    return (
      <>
        <strong>{kind}</strong> · {numberOf(metadata.devices)} devices ·{' '}
        {numberOf(metadata.sent)} sent ·{' '}
        <span className={failed ? 'bad' : undefined}>{numberOf(metadata.failed)} failed</span>
      </>
    );
  }
  const entries = Object.entries(metadata);
  if (!entries.length) return '—';
  return entries
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' · ');
}

function Notifications({ requestId }: { requestId: string }) {
  const events = useLive<AnalyticsEvent[]>(requestId, (onNext, onError) =>
    watchRequestAnalytics(requestId, onNext, onError),
  );
  const sent = events.data?.filter((event) => event.type === 'notification_sent').length;
  return (
    <Section title="Notifications and analytics" count={events.data?.length}>
      {sent !== undefined && (
        <p className="muted small">
          {sent} {sent === 1 ? 'notification' : 'notifications'} sent (one event per user per
          notification).
        </p>
      )}
      <LiveList
        live={events}
        what="analytics events"
        testId="audit-notifications"
        empty="No analytics events for this request."
      >
        {(eventsData) => (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Type</th>
                  <th>User</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {eventsData.map((event) => (
                  <tr
                    key={event.id}
                    className={event.type === 'notification_sent' ? 'sent' : undefined}
                    data-testid="audit-notification"
                    data-type={event.type}
                    data-user-id={event.userId ?? ''}
                    data-source={event.source ?? ''}
                    data-notification-type={
                      typeof event.metadata?.notificationType === 'string'
                        ? event.metadata.notificationType
                        : ''
                    }
                  >
                    <td className="nowrap">{formatInstant(event.timestamp)}</td>
                    <td>
                      {humanize(event.type)}
                      {event.source === 'client' && <span className="chip">client</span>}
                    </td>
                    <td>{event.userId ? <code>{event.userId}</code> : '—'}</td>
                    <td>{details(event)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LiveList>
    </Section>
  );
}
