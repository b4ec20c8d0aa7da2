/**
 * The promise shown before paying (`dispatch_report.promiseKept`): of the requests shown a wait
 * of 15 minutes or less, the share claimed within 15 (the target is 97 %); of those shown more,
 * the same share (a calibrated wait keeps it low); and the waits shown that no request used.
 */
import type { PromiseKept, PromiseSide } from '../../callables';
import { formatShare } from '../../model';
import { Table } from '../Table';
import { promiseLevel } from './KpiTiles';

export function PromiseKeptTable({
  kept,
  promiseMinutes,
}: {
  kept: PromiseKept;
  promiseMinutes: number;
}) {
  const quotes = kept.quotes;
  const rows: {
    side: 'within' | 'over';
    label: string;
    row: PromiseSide;
    shown?: number;
    unused?: number;
  }[] = [
    {
      side: 'within',
      label: `${promiseMinutes} min or less`,
      row: kept.shownWithin15,
      shown: quotes?.shownWithin15,
      unused: quotes?.unusedWithin15,
    },
    {
      side: 'over',
      label: `Over ${promiseMinutes} min`,
      row: kept.shownOver15,
      shown: quotes?.shownOver15,
      unused: quotes?.unusedOver15,
    },
  ];
  return (
    <div className="panel" data-testid="promise-kept">
      <h2>The wait shown before paying: promise kept</h2>
      <Table
        headers={[
          'Wait shown',
          'Requests',
          `Claimed within ${promiseMinutes} min`,
          'Share',
          'Still waiting',
          'Waits shown',
          'Never used',
        ]}
        className="table numbers"
      >
        {rows.map(({ side, label, row, shown, unused }) => {
          // the target applies to the promise made; over it, a low share is a calibrated wait
          const level = side === 'within' ? promiseLevel(row.claimedWithin15Share) : 'none';
          return (
            <tr
              key={side}
              data-testid={`promise-kept-${side}`}
              data-requests={row.requests}
              data-kept={row.claimedWithin15}
              data-undecided={row.undecided}
              data-share={row.claimedWithin15Share ?? ''}
              data-quotes-shown={shown ?? ''}
              data-quotes-unused={unused ?? ''}
            >
              <th scope="row">{label}</th>
              <td>{row.requests}</td>
              <td>{row.claimedWithin15}</td>
              <td className={`level-${level}`}>{formatShare(row.claimedWithin15Share)}</td>
              <td>{row.undecided}</td>
              <td>{shown ?? '—'}</td>
              <td>{unused ?? '—'}</td>
            </tr>
          );
        })}
      </Table>
      <p className="muted small">
        Requests made with a wait shown (<code>quote_wait</code>), by what they were shown. Shown{' '}
        {promiseMinutes} min or less: target 97% claimed within {promiseMinutes} min. Shown more:
        a wait told honestly keeps this share low. Still waiting: dispatchable less than{' '}
        {promiseMinutes} min ago, not in the share yet. Never used: waits shown that no request
        followed (customers who walked away or asked again).
      </p>
    </div>
  );
}
