/** `/helper/job/{id}`: the job, claim / release, the safety checklist, the session, its end. */
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { claimRequest, endSession, releaseClaim, startSession } from '../callables';
import { ErrorNote, Loading } from '../components/Feedback';
import { useAction, useLive } from '../hooks';
import {
  OUTCOME_LABELS,
  PAYMENT_LABELS,
  SESSION_LABELS,
  categoryLabel,
  formatMoney,
  formatTime,
  helperStatusLabel,
  humanize,
  type EndOutcome,
  type Job,
  type ServiceRequest,
  type Session,
} from '../model';
import { watchChecklists, watchJob, watchRequest, watchSession } from '../queries';
import { useSignedIn } from '../session/AuthProvider';

export function HelperJobPage() {
  const { id = '' } = useParams();
  // The request itself is readable only by the helper holding it; until then the page shows
  // the open job (`jobs/{id}`). A claim from this page reads the request again.
  const [claims, setClaims] = useState(0);
  const key = id ? `${id}#${claims}` : null;
  const request = useLive<ServiceRequest | null>(key, (onNext, onError) =>
    watchRequest(id, onNext, onError),
  );
  const notHeld = request.error?.code === 'permission-denied';
  const job = useLive<Job | null>(notHeld ? key : null, (onNext, onError) =>
    watchJob(id, onNext, onError),
  );

  let body;
  if (request.loading || (notHeld && job.loading)) body = <Loading label="Loading the job…" />;
  else if (request.data) body = <JobDetails job={request.data} />;
  else if (notHeld && job.data) {
    body = <OpenJob job={job.data} onClaimed={() => setClaims((n) => n + 1)} />;
  } else {
    // The rules show a helper only open jobs and their own: anything else is gone for them.
    const failure = (notHeld ? job.error : request.error) ?? null;
    body = (
      <section className="card">
        <h1>Job not available</h1>
        <p data-testid="job-unavailable">
          {failure && failure.code !== 'permission-denied'
            ? `The job could not be loaded (${failure.message}).`
            : 'This job is no longer available: another helper may have claimed it, or the ' +
              'customer cancelled it.'}
        </p>
        <Link to="/helper/dashboard">Back to the job board</Link>
      </section>
    );
  }

  return <div className="page">{body}</div>;
}

function JobFacts({ job }: { job: ServiceRequest | Job }) {
  return (
    <dl className="facts">
      <dt>Pay</dt>
      <dd data-testid="job-amount">{formatMoney(job.amount, job.currency)}</dd>
      <dt>Problem</dt>
      <dd data-testid="job-description">{job.description}</dd>
      <dt>Requested</dt>
      <dd>{formatTime(job.createdAt)}</dd>
    </dl>
  );
}

/** A job open to every helper: what the board shows of it, and the claim. */
function OpenJob({ job, onClaimed }: { job: Job; onClaimed: () => void }) {
  return (
    <section className="card" data-testid="job-details">
      <h1>{categoryLabel(job.category)} job</h1>
      <p className="status status-pending" data-testid="job-status" data-status={job.status}>
        Open — waiting for a helper
      </p>
      <JobFacts job={job} />
      <ClaimJob requestId={job.id} onClaimed={onClaimed} />
      <p>
        <Link to="/helper/dashboard">Back to the dashboard</Link>
      </p>
    </section>
  );
}

/** A request this helper holds (or held): its state, the checklist, the session. */
function JobDetails({ job }: { job: ServiceRequest }) {
  const { user } = useSignedIn();
  const mine = job.helperId === user.uid;

  return (
    <section className="card" data-testid="job-details">
      <h1>{categoryLabel(job.category)} job</h1>
      <p
        className={`status status-${job.status}`}
        data-testid="job-status"
        data-status={job.status}
      >
        {helperStatusLabel(job, user.uid)}
      </p>
      <JobFacts job={job} />
      {job.status === 'claimed' && mine && <ClaimedJob job={job} />}
      {(job.status === 'in_session' || job.status === 'completed') && mine && job.sessionId && (
        <JobSession job={job} sessionId={job.sessionId} />
      )}
      {job.status === 'completed' && (
        <p className="notice" data-testid="job-done">
          Done — {job.outcome ? OUTCOME_LABELS[job.outcome] : 'completed'}. Card hold:{' '}
          {PAYMENT_LABELS[job.paymentStatus]}.
        </p>
      )}
      {(job.status === 'cancelled' || job.status === 'expired') && (
        <p className="notice" data-testid="job-closed">
          This job is closed. Card hold: {PAYMENT_LABELS[job.paymentStatus]}.
        </p>
      )}
      <p>
        <Link to="/helper/dashboard">Back to the dashboard</Link>
      </p>
    </section>
  );
}

function ClaimJob({ requestId, onClaimed }: { requestId: string; onClaimed: () => void }) {
  const claim = useAction(async () => {
    await claimRequest({ requestId });
    onClaimed(); // held now: the page reads the request itself
  });
  return (
    <div className="actions">
      <button
        type="button"
        data-testid="claim"
        disabled={claim.busy}
        onClick={() => void claim.run()}
      >
        {claim.busy ? 'Claiming…' : 'Claim this job'}
      </button>
      <ErrorNote message={claim.error} testId="claim-error" />
    </div>
  );
}

/** Held by me, no session yet: release, or tick the checklist and start the session. */
function ClaimedJob({ job }: { job: ServiceRequest }) {
  const navigate = useNavigate();
  const release = useAction(async () => {
    const result = await releaseClaim({ requestId: job.id });
    const notice =
      result.status === 'expired'
        ? 'You released the job. It was released too many times, so it has expired and the ' +
          'customer’s card hold is released.'
        : 'You released the job. It is back on the job board for other helpers.';
    navigate('/helper/dashboard', { state: { notice } });
  });

  return (
    <div className="stack">
      <SafetyChecklist job={job} />
      <div className="actions">
        <button
          type="button"
          className="secondary"
          data-testid="release"
          disabled={release.busy}
          onClick={() => void release.run()}
        >
          {release.busy ? 'Releasing…' : 'Release this job'}
        </button>
      </div>
      <ErrorNote message={release.error} testId="release-error" />
    </div>
  );
}

function SafetyChecklist({ job }: { job: ServiceRequest }) {
  const checklists = useLive('checklists', watchChecklists);
  const [ticked, setTicked] = useState<Record<string, boolean>>({});
  const items = checklists.data?.[job.category] ?? [];
  const allTicked = items.length > 0 && items.every((item) => ticked[item]);
  const start = useAction(() =>
    startSession({
      requestId: job.id,
      checklist: Object.fromEntries(items.map((item) => [item, ticked[item] === true])),
    }),
  );

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (allTicked) void start.run();
  };

  if (checklists.loading) return <Loading label="Loading the safety checklist…" />;
  if (checklists.error || items.length === 0) {
    return (
      <ErrorNote
        message={
          checklists.error
            ? `The safety checklist could not be loaded (${checklists.error.message}).`
            : `No safety checklist is set up for ${categoryLabel(job.category)} yet.`
        }
        testId="checklist-error"
      />
    );
  }
  return (
    <form className="form checklist" onSubmit={onSubmit} data-testid="checklist">
      <h2>Safety checklist</h2>
      <p className="muted">
        Confirm each item with the customer, then start the session. A claim with no session goes
        back to the job board after a while.
      </p>
      {items.map((item) => (
        <label key={item} className="check">
          <input
            type="checkbox"
            checked={ticked[item] === true}
            onChange={(e) => setTicked({ ...ticked, [item]: e.target.checked })}
            data-testid={`checklist-item-${item}`}
          />
          {humanize(item)}
        </label>
      ))}
      <ErrorNote message={start.error} testId="start-error" />
      <button type="submit" data-testid="start-session" disabled={!allTicked || start.busy}>
        {start.busy ? 'Starting…' : 'Start session'}
      </button>
    </form>
  );
}

/** The session of a job I hold: its status, my join link, and ending it. */
function JobSession({ job, sessionId }: { job: ServiceRequest; sessionId: string }) {
  const session = useLive<Session | null>(sessionId, (onNext, onError) =>
    watchSession(sessionId, onNext, onError),
  );
  if (session.loading) return <Loading label="Loading the session…" />;
  if (session.error || !session.data) {
    return (
      <ErrorNote
        message={`The session could not be loaded (${session.error?.message ?? 'not found'}).`}
        testId="session-error"
      />
    );
  }
  return <SessionControls job={job} session={session.data} />;
}

function SessionControls({ job, session }: { job: ServiceRequest; session: Session }) {
  const [outcome, setOutcome] = useState<EndOutcome>('resolved');
  const [notes, setNotes] = useState('');
  const end = useAction(() =>
    endSession({
      sessionId: session.id,
      outcome,
      ...(notes.trim() ? { notes: notes.trim() } : {}),
    }),
  );
  const live = session.status === 'waiting' || session.status === 'active';
  // No document holds the link: `start_session` answers it again for the session started.
  const [helperJoinUrl, setHelperJoinUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!live || helperJoinUrl) return;
    let current = true;
    startSession({ requestId: job.id, checklist: {} })
      .then((result) => {
        if (current) setHelperJoinUrl(result.helperJoinUrl);
      })
      .catch((err: unknown) => console.warn('the session link could not be fetched', err));
    return () => {
      current = false;
    };
  }, [live, helperJoinUrl, job.id]);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void end.run();
  };

  return (
    <div className="session-panel">
      <h2>Video session</h2>
      <p data-testid="session-status" data-status={session.status}>
        {SESSION_LABELS[session.status]}
      </p>
      {live && helperJoinUrl && (
        <p>
          <a
            className="button"
            href={helperJoinUrl}
            target="_blank"
            rel="noopener noreferrer"
            data-testid="helper-join-link"
          >
            Open the video session
          </a>
          <br />
          <small className="muted break">{helperJoinUrl}</small>
        </p>
      )}
      {live && job.status === 'in_session' && (
        <form className="form" onSubmit={onSubmit} data-testid="end-session-form">
          <label>
            Outcome
            <select
              value={outcome}
              onChange={(e) => setOutcome(e.target.value as EndOutcome)}
              data-testid="end-outcome"
            >
              <option value="resolved">Resolved — the card is charged</option>
              <option value="unresolved">Not resolved — the hold is released</option>
              <option value="no_show">Customer did not show — the hold is released</option>
            </select>
          </label>
          <label>
            Notes (optional)
            <textarea
              rows={3}
              maxLength={2000}
              value={notes}
              onChange={(e) => setNotes(e.target.value)}
              data-testid="end-notes"
            />
          </label>
          <ErrorNote message={end.error} testId="end-error" />
          <button type="submit" className="danger" data-testid="end-session" disabled={end.busy}>
            {end.busy ? 'Ending…' : 'End session'}
          </button>
        </form>
      )}
    </div>
  );
}
