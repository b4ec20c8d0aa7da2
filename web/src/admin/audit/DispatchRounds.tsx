/** The request's dispatch rounds (`requests/{id}/dispatches`), each with its targeted helpers. */
import { ErrorNote } from '../../components/Feedback';
import { useLive } from '../../hooks';
import { formatInstant, humanize, type DispatchRound, type DispatchTarget } from '../../model';
import { watchDispatchRounds, watchDispatchTargets } from '../../queries';
import { LiveList, Section, seconds } from './parts';

export function DispatchRounds({ requestId }: { requestId: string }) {
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
      {round.heldBack && (
        <p className="muted" data-testid="audit-round-held-back">
          Held back: the request was late and a newer one of its category was waiting.
        </p>
      )}
      <small className="muted">
        Started {formatInstant(round.startedAt)}
        {round.finishedAt
          ? ` · finished ${formatInstant(round.finishedAt)}${
              took !== null ? ` (${took.toFixed(1)} s)` : ''
            }`
          : ' · not finished'}
      </small>
      <RoundTargets requestId={requestId} roundId={round.id} />
    </li>
  );
}

/** The helpers one round targeted (`dispatches/{roundKey}/targets`). */
function RoundTargets({ requestId, roundId }: { requestId: string; roundId: string }) {
  const targets = useLive<DispatchTarget[]>(`${requestId}/${roundId}`, (onNext, onError) =>
    watchDispatchTargets(requestId, roundId, onNext, onError),
  );
  if (targets.error) {
    return (
      <ErrorNote
        message={`The round's targets could not be loaded (${targets.error.message}).`}
        testId="audit-targets-error"
      />
    );
  }
  if (targets.loading) return null;
  if (!targets.data?.length) return <small className="muted">No helper was targeted.</small>;
  return (
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
  );
}
