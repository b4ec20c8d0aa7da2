/** The newest requests, each a link that selects it (`?request=ID`). */
import { Link, useSearchParams } from 'react-router';
import { useLive } from '../../hooks';
import { categoryLabel, formatMoney, formatTime } from '../../model';
import { RECENT_REQUESTS_LIMIT, watchRecentRequests } from '../../queries';
import { LiveList, StatusChip } from './parts';
import { REQUEST_PARAM } from './requestParam';

export function RecentRequests({ selected }: { selected: string | null }) {
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
