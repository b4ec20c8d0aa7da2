/** The report by category, most requests first. */
import type { CategoryReport } from '../../callables';
import { categoryLabel, formatMinSec, formatShare } from '../../model';
import { Table } from '../Table';
import { promiseLevel } from './KpiTiles';

export function CategoryTable({
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
        <Table
          headers={[
            'Category',
            'Requests',
            'Claimed',
            `Within ${promiseMinutes} min`,
            'p50',
            'p90',
            'Expired',
            'Cancelled',
          ]}
          className="table numbers"
        >
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
        </Table>
      )}
    </div>
  );
}
