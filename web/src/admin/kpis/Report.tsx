/** One `dispatch_report` answer: the KPI tiles, then (when the window has requests) the panels. */
import type { DispatchReport } from '../../callables';
import { PROMISE_SECONDS } from '../../model';
import { CategoryTable } from './CategoryTable';
import { KpiTiles } from './KpiTiles';
import { PromiseKeptTable } from './PromiseKeptTable';
import { StatusBreakdown } from './StatusBreakdown';
import { TimeToClaimHistogram } from './TimeToClaimHistogram';

export function Report({ report }: { report: DispatchReport }) {
  const promise = report.promiseSeconds ?? PROMISE_SECONDS;
  const promiseMinutes = Math.round(promise / 60);
  const total = report.requests.total;

  return (
    <div className="report">
      {total === 0 && (
        <p className="notice muted-notice" data-testid="report-empty">
          No dispatchable requests in this window.
        </p>
      )}
      <KpiTiles report={report} promise={promise} />
      {report.promiseKept && (
        <PromiseKeptTable kept={report.promiseKept} promiseMinutes={promiseMinutes} />
      )}

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
