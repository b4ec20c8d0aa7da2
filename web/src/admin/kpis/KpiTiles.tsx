/** The KPI tiles: the share claimed within the promise, time to claim, rates and pushes. */
import type { ReactNode } from 'react';
import type { DispatchReport } from '../../callables';
import { formatMinSec, formatShare } from '../../model';

/** How the share of requests claimed within the promise reads: the target is 97 %. */
export function promiseLevel(share: number | null): 'good' | 'warn' | 'bad' | 'none' {
  if (share === null || share === undefined) return 'none';
  if (share >= 0.97) return 'good';
  return share >= 0.9 ? 'warn' : 'bad';
}

export function KpiTiles({ report, promise }: { report: DispatchReport; promise: number }) {
  const ttc = report.timeToClaimSeconds;
  const total = report.requests.total;
  return (
    <div className="kpi-grid">
      <PromiseTile report={report} promise={promise} />
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
  );
}

/** The headline: the share claimed within the promise, coloured by promiseLevel. */
function PromiseTile({ report, promise }: { report: DispatchReport; promise: number }) {
  const promiseMinutes = Math.round(promise / 60);
  const total = report.requests.total;
  const share = report.claimedWithin15MinShare;
  const level = promiseLevel(share);
  return (
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
  );
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
