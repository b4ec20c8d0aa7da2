/** The time-to-claim histogram of `dispatch_report` as inline SVG, with the 15-minute line. */
import type { HistogramBucket } from '../../callables';

// The drawing's own coordinates; the SVG scales to its container (see .chart in styles.css).
const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { top: 30, right: 12, bottom: 42, left: 40 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
const BASELINE = MARGIN.top + PLOT_HEIGHT;
/** Label the minute axis every this many seconds. */
const TICK_EVERY_SECONDS = 5 * 60;

interface Props {
  buckets: HistogramBucket[];
  promiseSeconds: number;
}

export function TimeToClaimHistogram({ buckets, promiseSeconds }: Props) {
  const slot = PLOT_WIDTH / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.78);
  const counts = buckets.map((bucket) => bucket.count);
  const claims = counts.reduce((sum, count) => sum + count, 0);
  const within = buckets
    .filter((bucket) => bucket.toSeconds !== null && bucket.toSeconds <= promiseSeconds)
    .reduce((sum, bucket) => sum + bucket.count, 0);
  const yTicks = niceTicks(Math.max(1, ...counts));
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const y = (count: number) => BASELINE - (count / yMax) * PLOT_HEIGHT;
  const x = (index: number) => MARGIN.left + index * slot;
  const promiseX = xOfSeconds(buckets, promiseSeconds, x, slot);
  const promiseMinutes = Math.round(promiseSeconds / 60);

  return (
    <svg
      className="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-labelledby="ttc-title ttc-desc"
      data-testid="ttc-histogram"
      data-claims={claims}
    >
      <title id="ttc-title">Time to claim</title>
      <desc id="ttc-desc">
        {`${claims} claims in one-minute buckets; ${within} within ${promiseMinutes} minutes.`}
      </desc>

      <g className="chart-grid">
        {yTicks.map((tick) => (
          <g key={tick}>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(tick)} y2={y(tick)} />
            <text x={MARGIN.left - 6} y={y(tick)} dy="0.32em" textAnchor="end">
              {tick}
            </text>
          </g>
        ))}
      </g>

      <g>
        {buckets.map((bucket, index) => {
          const over = bucket.fromSeconds >= promiseSeconds;
          const top = y(bucket.count);
          const left = x(index) + (slot - barWidth) / 2;
          return (
            <g key={bucket.fromSeconds}>
              <rect
                className={over ? 'ttc-bar over' : 'ttc-bar'}
                x={left}
                y={top}
                width={barWidth}
                height={BASELINE - top}
                data-testid="ttc-bar"
                data-from={bucket.fromSeconds}
                data-to={bucket.toSeconds ?? ''}
                data-count={bucket.count}
              >
                <title>{`${bucketLabel(bucket)}: ${bucket.count} ${plural(bucket.count)}`}</title>
              </rect>
              {bucket.count > 0 && (
                <text
                  className="chart-count"
                  x={left + barWidth / 2}
                  y={top - 4}
                  textAnchor="middle"
                >
                  {bucket.count}
                </text>
              )}
            </g>
          );
        })}
      </g>

      <g className="chart-axis">
        <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={BASELINE} y2={BASELINE} />
        {buckets.map((bucket, index) => {
          if (bucket.toSeconds === null) {
            return (
              <text key="open" x={x(index) + slot / 2} y={BASELINE + 16} textAnchor="middle">
                {`${Math.round(bucket.fromSeconds / 60)}+`}
              </text>
            );
          }
          if (bucket.fromSeconds % TICK_EVERY_SECONDS !== 0) return null;
          return (
            <g key={bucket.fromSeconds}>
              <line x1={x(index)} x2={x(index)} y1={BASELINE} y2={BASELINE + 4} />
              <text x={x(index)} y={BASELINE + 16} textAnchor="middle">
                {Math.round(bucket.fromSeconds / 60)}
              </text>
            </g>
          );
        })}
        <text x={MARGIN.left + PLOT_WIDTH / 2} y={HEIGHT - 6} textAnchor="middle">
          minutes from dispatchable to claimed
        </text>
      </g>

      {promiseX !== null && (
        <g className="ttc-promise" data-testid="ttc-promise-line" data-seconds={promiseSeconds}>
          <line x1={promiseX} x2={promiseX} y1={MARGIN.top - 6} y2={BASELINE} />
          <text x={promiseX + 5} y={MARGIN.top - 12} textAnchor="start">
            {`${promiseMinutes}-min promise`}
          </text>
        </g>
      )}
    </svg>
  );
}

/** Where `seconds` falls on the x axis: inside its bucket, in proportion. */
function xOfSeconds(
  buckets: HistogramBucket[],
  seconds: number,
  x: (index: number) => number,
  slot: number,
): number | null {
  const index = buckets.findIndex(
    (bucket) =>
      bucket.fromSeconds <= seconds && (bucket.toSeconds === null || seconds < bucket.toSeconds),
  );
  if (index < 0) return null;
  const bucket = buckets[index];
  const span = bucket.toSeconds === null ? 0 : bucket.toSeconds - bucket.fromSeconds;
  return x(index) + (span > 0 ? ((seconds - bucket.fromSeconds) / span) * slot : 0);
}

/** Round axis ticks from 0 to at least `max`: steps of 1, 2 or 5 × 10^k, at most 5 steps. */
function niceTicks(max: number): number[] {
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, rough)));
  const step =
    [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) ??
    10 * magnitude;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step; tick += step) {
    ticks.push(tick);
    if (tick >= max) break;
  }
  return ticks;
}

function bucketLabel(bucket: HistogramBucket): string {
  const from = Math.round(bucket.fromSeconds / 60);
  if (bucket.toSeconds === null) return `${from} min or more`;
  return `${from}–${Math.round(bucket.toSeconds / 60)} min`;
}

function plural(count: number): string {
  return count === 1 ? 'claim' : 'claims';
}
