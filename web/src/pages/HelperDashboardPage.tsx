/** `/helper/dashboard`: availability, notifications, the live job board, held jobs, the inbox. */
import { Link, useNavigate } from 'react-router';
import { claimRequest, setAvailability } from '../callables';
import { ErrorNote, Loading, RouteNotice } from '../components/Feedback';
import { Inbox } from '../components/Inbox';
import { NotificationPrompt } from '../components/NotificationPrompt';
import { useAction, useLive } from '../hooks';
import {
  categoryLabel,
  formatMoney,
  formatTime,
  helperStatusLabel,
  serves,
  type Job,
  type ServiceRequest,
} from '../model';
import { watchHeldJobs, watchJobBoard } from '../queries';
import { useSignedIn } from '../session/AuthProvider';

const HELD: ReadonlySet<string> = new Set(['claimed', 'in_session']);
const PAST_JOBS = 5;

export function HelperDashboardPage() {
  return (
    <div className="page">
      <RouteNotice />
      <AvailabilityToggle />
      <NotificationPrompt />
      <JobBoard />
      <MyJobs />
      <Inbox />
    </div>
  );
}

function AvailabilityToggle() {
  const { profile } = useSignedIn();
  const available = profile?.isAvailable === true;
  const toggle = useAction(() => setAvailability({ isAvailable: !available }));
  return (
    <section className="card availability">
      <div>
        <h2>Availability</h2>
        <p className="muted">
          {available
            ? 'You are available: new jobs in your categories are sent to you.'
            : 'You are unavailable: no new jobs are sent to you.'}
        </p>
      </div>
      <button
        type="button"
        role="switch"
        aria-checked={available}
        className={available ? 'toggle on' : 'toggle'}
        data-testid="availability-toggle"
        data-available={available ? 'true' : 'false'}
        disabled={toggle.busy || profile === null}
        onClick={() => void toggle.run()}
      >
        {toggle.busy ? 'Saving…' : available ? 'Available' : 'Unavailable'}
      </button>
      <ErrorNote message={toggle.error} testId="availability-error" />
    </section>
  );
}

function JobBoard() {
  const { profile } = useSignedIn();
  const board = useLive('job-board', watchJobBoard);
  const jobs = (board.data ?? []).filter((job) => serves(profile, job.category));
  const categories = profile?.categories?.length
    ? profile.categories.map(categoryLabel).join(', ')
    : 'all categories';

  return (
    <section className="card" data-testid="job-board" data-count={jobs.length}>
      <div className="card-title">
        <h2>Open jobs</h2>
        <small className="muted">
          {categories} · <Link to="/helper/settings">change</Link>
        </small>
      </div>
      {board.error ? (
        <ErrorNote
          message={`The job board could not be loaded (${board.error.message}).`}
          testId="job-board-error"
        />
      ) : board.loading ? (
        <Loading label="Loading open jobs…" />
      ) : jobs.length === 0 ? (
        <p className="muted" data-testid="job-board-empty">
          No open jobs in your categories right now. New ones appear here as they come in.
        </p>
      ) : (
        <ul className="list">
          {jobs.map((job) => (
            <JobCard key={job.id} job={job} />
          ))}
        </ul>
      )}
    </section>
  );
}

function JobCard({ job }: { job: Job }) {
  const navigate = useNavigate();
  const claim = useAction(async () => {
    await claimRequest({ requestId: job.id });
    navigate(`/helper/job/${encodeURIComponent(job.id)}`);
  });
  return (
    <li className="job-card" data-testid={`job-card-${job.id}`} data-category={job.category}>
      <div className="job-head">
        <strong>{categoryLabel(job.category)}</strong>
        <span className="amount">{formatMoney(job.amount, job.currency)}</span>
      </div>
      <p className="description">{job.description}</p>
      <small className="muted">Waiting since {formatTime(job.pendingSince ?? job.createdAt)}</small>
      <div className="actions">
        <Link
          className="button secondary"
          to={`/helper/job/${encodeURIComponent(job.id)}`}
          data-testid={`view-${job.id}`}
        >
          View
        </Link>
        <button
          type="button"
          data-testid={`claim-${job.id}`}
          disabled={claim.busy}
          onClick={() => void claim.run()}
        >
          {claim.busy ? 'Claiming…' : 'Claim'}
        </button>
      </div>
      <ErrorNote message={claim.error} testId={`claim-error-${job.id}`} />
    </li>
  );
}

function MyJobs() {
  const { user } = useSignedIn();
  const jobs = useLive<ServiceRequest[]>(user.uid, (onNext, onError) =>
    watchHeldJobs(user.uid, onNext, onError),
  );
  const all = jobs.data ?? [];
  const held = all.filter((job) => HELD.has(job.status));
  const past = all.filter((job) => !HELD.has(job.status)).slice(0, PAST_JOBS);

  return (
    <section className="card" data-testid="my-jobs" data-count={held.length}>
      <h2>My jobs</h2>
      {jobs.error ? (
        <ErrorNote
          message={`Your jobs could not be loaded (${jobs.error.message}).`}
          testId="my-jobs-error"
        />
      ) : jobs.loading ? (
        <Loading label="Loading your jobs…" />
      ) : held.length === 0 ? (
        <p className="muted" data-testid="my-jobs-empty">
          You hold no jobs. Claim one from the board above.
        </p>
      ) : (
        <ul className="list">
          {held.map((job) => (
            <JobLink key={job.id} job={job} uid={user.uid} testId={`my-job-${job.id}`} />
          ))}
        </ul>
      )}
      {past.length > 0 && (
        <details data-testid="past-jobs">
          <summary>Recent past jobs</summary>
          <ul className="list">
            {past.map((job) => (
              <JobLink key={job.id} job={job} uid={user.uid} testId={`past-job-${job.id}`} />
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function JobLink({ job, uid, testId }: { job: ServiceRequest; uid: string; testId: string }) {
  return (
    <li data-testid={testId} data-status={job.status}>
      <Link to={`/helper/job/${encodeURIComponent(job.id)}`}>
        <strong>{categoryLabel(job.category)}</strong> — {helperStatusLabel(job, uid)}
      </Link>
      <small className="muted">
        {formatMoney(job.amount, job.currency)} · {job.description.slice(0, 80)}
        {job.description.length > 80 ? '…' : ''}
      </small>
    </li>
  );
}
