/**
 * `/admin`: the operations dashboard for the 15-minute promise — the KPIs of `dispatch_report`
 * over a window, and the audit trail of any one request (`/admin?request=ID`).
 */
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import {
  dispatchReport,
  errorMessage,
  type CategoryReport,
  type DispatchReport,
  type DispatchReportInput,
  type StatusCounts,
} from '../callables';
import { AuditTrail } from '../components/AuditTrail';
import { ErrorNote, Loading } from '../components/Feedback';
import { TimeToClaimHistogram } from '../components/TimeToClaimHistogram';
import {
  PROMISE_SECONDS,
  REQUEST_STATUSES,
  categoryLabel,
  formatMinSec,
  formatShare,
  humanize,
} from '../model';

export function AdminPage() {
  return (
    <div className="page admin-dashboard" data-testid="admin-dashboard">
      <DispatchKpis />
      <AuditTrail />
    </div>
  );
}

// ---------------------------------------------------------------- the window

interface Preset {
  value: '24h' | '7d' | '30d';
  label: string;
  hours: number;
}
type WindowChoice = Preset['value'] | 'custom';

const PRESETS: readonly Preset[] = [
  { value: '24h', label: 'Last 24 hours', hours: 24 },
  { value: '7d', label: 'Last 7 days', hours: 7 * 24 },
  { value: '30d', label: 'Last 30 days', hours: 30 * 24 },
];
const DEFAULT_PRESET = PRESETS[0];

const HOUR_MS = 60 * 60 * 1000;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `date` in ISO-8601 with the browser's own offset: "2025-03-01T14:05:00-06:00". */
function isoWithOffset(date: Date): string {
  const east = -date.getTimezoneOffset();
  const sign = east >= 0 ? '+' : '-';
  const offset = `${sign}${pad(Math.floor(Math.abs(east) / 60))}:${pad(Math.abs(east) % 60)}`;
  return `${localInputValue(date)}:${pad(date.getSeconds())}${offset}`;
}

/** `date` as the value of an `<input type="datetime-local">` ("2025-03-01T14:05"). */
function localInputValue(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** A datetime-local value (local time, no offset) as a Date; null when empty or invalid. */
function parseLocalInput(value: string): Date | null {
  if (!value) return null;
  const date = new Date(value); // a date-time without an offset is local time
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A preset ends now: only `since` is sent, and the server's clock decides `until`. */
function presetInput(preset: Preset): DispatchReportInput {
  return { since: isoWithOffset(new Date(Date.now() - preset.hours * HOUR_MS)) };
}

/** The callable's input for a choice, or a message saying what is wrong with the custom one. */
function windowInput(
  choice: WindowChoice,
  since: string,
  until: string,
): DispatchReportInput | string {
  const preset = PRESETS.find((p) => p.value === choice);
  if (preset) return presetInput(preset);
  const from = parseLocalInput(since);
  const to = parseLocalInput(until);
  if (!from || !to) return 'Choose both the start and the end of the window.';
  if (from >= to) return 'The start of the window must be before its end.';
  return { since: isoWithOffset(from), until: isoWithOffset(to) };
}

interface ReportState {
  report: DispatchReport | null;
  error: string | null;
  loading: boolean;
}

/** Calls `dispatch_report`; only the answer to the latest call is kept. */
function useDispatchReport() {
  const [state, setState] = useState<ReportState>({ report: null, error: null, loading: true });
  const latest = useRef(0);
  const load = useCallback(async (input: DispatchReportInput) => {
    const call = ++latest.current;
    setState((prev) => ({ ...prev, error: null, loading: true }));
    try {
      const report = await dispatchReport(input);
      if (call === latest.current) setState({ report, error: null, loading: false });
    } catch (err) {
      console.warn(err);
      if (call === latest.current) {
        setState({ report: null, error: errorMessage(err), loading: false });
      }
    }
  }, []);
  return { ...state, load };
}

// ---------------------------------------------------------------- KPIs

function DispatchKpis() {
  const { report, error, loading, load } = useDispatchReport();
  const [choice, setChoice] = useState<WindowChoice>(DEFAULT_PRESET.value);
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [windowError, setWindowError] = useState<string | null>(null);

  const refresh = (next: WindowChoice = choice) => {
    const input = windowInput(next, since, until);
    if (typeof input === 'string') {
      setWindowError(input);
      return;
    }
    setWindowError(null);
    void load(input);
  };

  useEffect(() => {
    void load(presetInput(DEFAULT_PRESET));
  }, [load]);

  const choose = (next: WindowChoice) => {
    setChoice(next);
    setWindowError(null);
    if (next !== 'custom') {
      refresh(next);
      return;
    }
    // Start the custom window from the one on screen; it loads on Refresh.
    const shown = report?.window;
    const end = (shown && new Date(shown.until)) || new Date();
    const start = (shown && new Date(shown.since)) || new Date(end.getTime() - 24 * HOUR_MS);
    if (!since) setSince(localInputValue(start));
    if (!until) setUntil(localInputValue(end));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    refresh();
  };

  return (
    <section
      className="card kpis"
      aria-labelledby="kpis-title"
      aria-busy={loading}
      data-loading={loading ? 'true' : 'false'}
    >
      <div className="card-title">
        <h1 id="kpis-title">The 15-minute promise</h1>
        {report && <WindowLine since={report.window.since} until={report.window.until} />}
      </div>
      <form className="window-form" onSubmit={submit}>
        <label className="field">
          Window
          <select
            value={choice}
            onChange={(event) => choose(event.target.value as WindowChoice)}
            data-testid="report-window"
          >
            {PRESETS.map((preset) => (
              <option key={preset.value} value={preset.value}>
                {preset.label}
              </option>
            ))}
            <option value="custom">Custom…</option>
          </select>
        </label>
        {choice === 'custom' && (
          <>
            <label className="field">
              From
              <input
                type="datetime-local"
                value={since}
                onChange={(event) => setSince(event.target.value)}
                data-testid="report-since"
              />
            </label>
            <label className="field">
              To
              <input
                type="datetime-local"
                value={until}
                onChange={(event) => setUntil(event.target.value)}
                data-testid="report-until"
              />
            </label>
          </>
        )}
        <button type="submit" className="secondary" disabled={loading} data-testid="report-refresh">
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </form>
      <ErrorNote message={windowError} testId="report-window-error" />
      <ErrorNote
        message={error && `The report could not be loaded: ${error}`}
        testId="report-error"
      />
      {report ? (
        <Report report={report} />
      ) : (
        loading && <Loading label="Loading the dispatch report…" />
      )}
    </section>
  );
}

function WindowLine({ since, until }: { since: string; until: string }) {
  const format = (iso: string) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? iso
      : date.toLocaleString(undefined, {
          month: 'short',
          day: 'numeric',
          hour: 'numeric',
          minute: '2-digit',
        });
  };
  return (
    <small
      className="muted"
      data-testid="report-window-range"
      data-since={since}
      data-until={until}
    >
      {format(since)} – {format(until)}
    </small>
  );
}

/** How the share of requests claimed within the promise reads: the target is 97 %. */
function promiseLevel(share: number | null): 'good' | 'warn' | 'bad' | 'none' {
  if (share === null || share === undefined) return 'none';
  if (share >= 0.97) return 'good';
  return share >= 0.9 ? 'warn' : 'bad';
}

function Report({ report }: { report: DispatchReport }) {
  const promise = report.promiseSeconds ?? PROMISE_SECONDS;
  const promiseMinutes = Math.round(promise / 60);
  const total = report.requests.total;
  const share = report.claimedWithin15MinShare;
  const ttc = report.timeToClaimSeconds;
  const level = promiseLevel(share);

  return (
    <div className="report">
      {total === 0 && (
        <p className="notice muted-notice" data-testid="report-empty">
          No dispatchable requests in this window.
        </p>
      )}
      <div className="kpi-grid">
        <div
          className={`kpi kpi-headline level-${level}`}
          data-testid="kpi-within-15"
          data-value={share ?? ''}
          data-level={level}
        >
          <span className="kpi-label">Claimed within {promiseMinutes} min</span>
          <strong className="kpi-value">{formatShare(share)}</strong>
          <small>
            {report.claimed !== undefined && `${report.claimed} of ${total} claimed · `}
            {!!report.undecided && (
              <span data-testid="kpi-undecided" data-value={report.undecided}>
                {report.undecided} waiting under {promiseMinutes} min, not counted yet ·{' '}
              </span>
            )}
            target 97%
          </small>
        </div>
        <Kpi testId="kpi-p50" label="Time to claim p50" value={ttc.p50}>
          {formatMinSec(ttc.p50)}
        </Kpi>
        <Kpi
          testId="kpi-p90"
          label="Time to claim p90"
          value={ttc.p90}
          over={(ttc.p90 ?? 0) > promise}
        >
          {formatMinSec(ttc.p90)}
        </Kpi>
        <Kpi
          testId="kpi-p99"
          label="Time to claim p99"
          value={ttc.p99 ?? null}
          over={(ttc.p99 ?? 0) > promise}
        >
          {formatMinSec(ttc.p99)}
        </Kpi>
        <Kpi testId="kpi-total" label="Requests" value={total}>
          {total}
        </Kpi>
        <Kpi testId="kpi-claimed" label="Claimed" value={report.claimed ?? null}>
          {report.claimed ?? '—'}
        </Kpi>
        <Kpi testId="kpi-expiry-rate" label="Expired" value={report.expiryRate}>
          {formatShare(report.expiryRate)}
        </Kpi>
        <Kpi testId="kpi-cancellation-rate" label="Cancelled" value={report.cancellationRate}>
          {formatShare(report.cancellationRate)}
        </Kpi>
        <Kpi testId="kpi-rounds-per-claim" label="Rounds per claim" value={report.roundsPerClaim}>
          {report.roundsPerClaim === null ? '—' : report.roundsPerClaim.toFixed(2)}
        </Kpi>
        <div className="kpi kpi-push">
          <span className="kpi-label">Pushes</span>
          <div className="push-figures">
            <PushFigure testId="kpi-push-sent" label="sent" value={report.push.sent} />
            <PushFigure
              testId="kpi-push-failed"
              label="failed"
              value={report.push.failed}
              bad={report.push.failed > 0}
            />
            <PushFigure testId="kpi-push-pruned" label="pruned" value={report.push.pruned} />
          </div>
        </div>
      </div>

      {total > 0 && (
        <>
          <div className="report-panels">
            <div className="panel">
              <h2>Time to claim</h2>
              {report.timeToClaimHistogram?.length ? (
                <div className="chart-scroll">
                  <TimeToClaimHistogram
                    buckets={report.timeToClaimHistogram}
                    promiseSeconds={promise}
                  />
                </div>
              ) : (
                <p className="muted">The report has no histogram.</p>
              )}
              <p className="muted small legend">
                <span className="swatch" /> within {promiseMinutes} min{' '}
                <span className="swatch over" /> after {promiseMinutes} min · bars are one minute
                wide; the last one is {histogramTail(report)} min and more.
              </p>
            </div>
            <div className="panel">
              <h2>By status</h2>
              <StatusBreakdown byStatus={report.requests.byStatus} total={total} />
            </div>
          </div>
          <CategoryTable byCategory={report.byCategory} promiseMinutes={promiseMinutes} />
        </>
      )}
    </div>
  );
}

function histogramTail(report: DispatchReport): number {
  const open = report.timeToClaimHistogram?.find((bucket) => bucket.toSeconds === null);
  return open ? Math.round(open.fromSeconds / 60) : 30;
}

function Kpi({
  testId,
  label,
  value,
  over = false,
  children,
}: {
  testId: string;
  label: string;
  value: number | null;
  over?: boolean;
  children: ReactNode;
}) {
  return (
    <div className={over ? 'kpi level-warn' : 'kpi'} data-testid={testId} data-value={value ?? ''}>
      <span className="kpi-label">{label}</span>
      <strong className="kpi-value">{children}</strong>
    </div>
  );
}

function PushFigure({
  testId,
  label,
  value,
  bad = false,
}: {
  testId: string;
  label: string;
  value: number;
  bad?: boolean;
}) {
  return (
    <span
      className={bad ? 'push-figure bad' : 'push-figure'}
      data-testid={testId}
      data-value={value}
    >
      <strong>{value}</strong> {label}
    </span>
  );
}

function StatusBreakdown({ byStatus, total }: { byStatus: StatusCounts; total: number }) {
  const extra = Object.keys(byStatus).filter(
    (status) => !(REQUEST_STATUSES as readonly string[]).includes(status),
  );
  return (
    <ul className="status-counts">
      {[...REQUEST_STATUSES, ...extra].map((status) => {
        const count = (byStatus as Record<string, number | undefined>)[status] ?? 0;
        return (
          <li key={status} data-testid={`status-count-${status}`} data-count={count}>
            <span className={`chip chip-${status}`}>{humanize(status)}</span>
            <span className="bar-track" aria-hidden="true">
              <span
                className={`bar-fill fill-${status}`}
                style={{ width: `${total ? (count / total) * 100 : 0}%` }}
              />
            </span>
            <strong className="count">{count}</strong>
          </li>
        );
      })}
    </ul>
  );
}

function CategoryTable({
  byCategory,
  promiseMinutes,
}: {
  byCategory: Record<string, CategoryReport>;
  promiseMinutes: number;
}) {
  const rows = Object.entries(byCategory).sort(
    ([a, x], [b, y]) => y.total - x.total || a.localeCompare(b),
  );
  return (
    <div className="panel">
      <h2>By category</h2>
      {rows.length === 0 ? (
        <p className="muted">No categories in this window.</p>
      ) : (
        <div className="table-scroll">
          <table className="table numbers">
            <thead>
              <tr>
                <th>Category</th>
                <th>Requests</th>
                <th>Claimed</th>
                <th>Within {promiseMinutes} min</th>
                <th>p50</th>
                <th>p90</th>
                <th>Expired</th>
                <th>Cancelled</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([category, row]) => {
                const level = promiseLevel(row.claimedWithin15MinShare);
                return (
                  <tr
                    key={category}
                    data-testid={`category-row-${category}`}
                    data-total={row.total}
                    data-share={row.claimedWithin15MinShare ?? ''}
                  >
                    <th scope="row">{categoryLabel(category)}</th>
                    <td>{row.total}</td>
                    <td>{row.claimed ?? '—'}</td>
                    <td className={`level-${level}`}>{formatShare(row.claimedWithin15MinShare)}</td>
                    <td>{formatMinSec(row.timeToClaimSeconds?.p50)}</td>
                    <td>{formatMinSec(row.timeToClaimSeconds?.p90)}</td>
                    <td>{formatShare(row.expiryRate)}</td>
                    <td>{formatShare(row.cancellationRate)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
