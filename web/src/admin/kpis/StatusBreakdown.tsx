/** Requests of the window by status: every known status (0 when missing), then any other. */
import type { StatusCounts } from '../../callables';
import { REQUEST_STATUSES, humanize } from '../../model';

export function StatusBreakdown({ byStatus, total }: { byStatus: StatusCounts; total: number }) {
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
