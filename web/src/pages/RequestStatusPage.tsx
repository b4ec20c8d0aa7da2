/** `/customer/request/{id}/status`: live status, the card hold, join the session, cancel. */
import { useCallback, useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { track } from '../analytics';
import { cancelRequest, joinSession } from '../callables';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorNote, Loading, RouteNotice } from '../components/Feedback';
import { Inbox } from '../components/Inbox';
import { useAction, useLive } from '../hooks';
import {
  SESSION_LABELS,
  categoryLabel,
  customerStatusLabel,
  formatMoney,
  formatTime,
  isOpenForCustomerCancel,
  paymentLabel,
  type ServiceRequest,
  type Session,
} from '../model';
import { watchRequest, watchSession } from '../queries';
import { waitingNote } from '../waitQuote';

export function RequestStatusPage() {
  const { id = '' } = useParams();
  const request = useLive<ServiceRequest | null>(id || null, (onNext, onError) =>
    watchRequest(id, onNext, onError),
  );

  let body;
  if (request.loading) body = <Loading label="Loading your request…" />;
  else if (request.error || !request.data) {
    body = (
      <section className="card">
        <h1>Request not found</h1>
        <ErrorNote
          message={
            request.error?.code === 'permission-denied' || !request.data
              ? 'This request does not exist or is not yours.'
              : `The request could not be loaded (${request.error?.message}).`
          }
          testId="request-error"
        />
      </section>
    );
  } else body = <RequestStatus request={request.data} />;

  return (
    <div className="page">
      <RouteNotice />
      {body}
      <Inbox />
    </div>
  );
}

function RequestStatus({ request }: { request: ServiceRequest }) {
  const sessionId = request.sessionId ?? null;
  const session = useLive<Session | null>(sessionId, (onNext, onError) =>
    watchSession(sessionId ?? '', onNext, onError),
  );

  return (
    <section className="card" data-testid="request-card">
      <h1>Your {categoryLabel(request.category).toLowerCase()} request</h1>
      <p
        className={`status status-${request.status}`}
        data-testid="request-status"
        data-status={request.status}
      >
        {customerStatusLabel(request)}
      </p>
      {request.helperDisplayName && (
        <p>
          Helper: <strong data-testid="helper-name">{request.helperDisplayName}</strong>
        </p>
      )}
      <dl className="facts">
        <dt>Payment</dt>
        <dd data-testid="payment-status" data-payment-status={request.paymentStatus}>
          {paymentLabel(request.paymentStatus)}
        </dd>
        <dt>Price</dt>
        <dd data-testid="request-amount">{formatMoney(request.amount, request.currency)}</dd>
        <dt>Problem</dt>
        <dd data-testid="request-description">{request.description}</dd>
        <dt>Requested</dt>
        <dd>{formatTime(request.createdAt)}</dd>
      </dl>
      <WaitingNote request={request} />
      {request.paymentStatus === 'requires_payment' && request.status === 'pending' && (
        <p className="muted" data-testid="payment-pending-note">
          Helpers see your request once your card is authorized.
        </p>
      )}
      {session.data && <SessionPanel session={session.data} />}
      <ErrorNote
        message={session.error && `The session could not be loaded (${session.error.message}).`}
        testId="session-error"
      />
      {isOpenForCustomerCancel(request.status) && <CancelRequest request={request} />}
    </section>
  );
}

/** While a helper is looked for: the minutes so far beside the wait shown, and once past the
 * promise, that it is late and that cancelling releases the hold (`waitingNote`). */
function WaitingNote({ request }: { request: ServiceRequest }) {
  const [now, setNow] = useState(() => Date.now());
  const waiting = request.status === 'pending';
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, [waiting]);
  const note = waitingNote(request, now);
  if (!note) return null;
  return (
    <p
      className={note.late ? 'warning' : 'muted'}
      // read out once it is late, not every minute the count moves
      role={note.late ? 'status' : undefined}
      data-testid="waiting-note"
      data-late={note.late ? 'true' : 'false'}
      data-waited={note.waited}
    >
      {note.text}
    </p>
  );
}

function SessionPanel({ session }: { session: Session }) {
  const join = useAction(() => joinSession({ sessionId: session.id }));
  // The link comes only from `join_session` (a reload asks again: it answers the same link).
  const [url, setJoinUrl] = useState<string | null>(null);
  const open = session.status === 'waiting' || session.status === 'active';

  return (
    <div className="session-panel">
      <h2>Video session</h2>
      <p data-testid="session-status" data-status={session.status}>
        {session.status === 'waiting'
          ? 'Your helper is waiting for you in the video session.'
          : SESSION_LABELS[session.status]}
      </p>
      {open && !url && (
        <button
          type="button"
          data-testid="join-session"
          disabled={join.busy}
          onClick={() =>
            void join.run().then((result) => {
              if (result?.customerJoinUrl) setJoinUrl(result.customerJoinUrl);
            })
          }
        >
          {join.busy ? 'Joining…' : session.status === 'active' ? 'Rejoin session' : 'Join session'}
        </button>
      )}
      {url && session.status !== 'ended' && (
        <p>
          <a
            className="button"
            href={url}
            target="_blank"
            rel="noopener noreferrer"
            data-testid="join-link"
          >
            Open the video session
          </a>
          <br />
          <small className="muted break">{url}</small>
        </p>
      )}
      <ErrorNote message={join.error} testId="join-error" />
    </div>
  );
}

function CancelRequest({ request }: { request: ServiceRequest }) {
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const cancel = useAction(async () => {
    track('cancel_confirmed', {
      requestId: request.id,
      metadata: { fromStatus: request.status, paymentStatus: request.paymentStatus },
    });
    const result = await cancelRequest({ requestId: request.id, reason: 'requested_by_customer' });
    const released =
      result.paymentStatus === 'released'
        ? 'The hold on your card was released.'
        : `Card hold: ${result.paymentStatus}.`;
    navigate('/customer/request', { state: { notice: `Request cancelled. ${released}` } });
  });
  const { clearError } = cancel;
  const keep = useCallback(() => {
    setConfirming(false);
    clearError();
  }, [clearError]);

  const amount = formatMoney(request.amount, request.currency);
  const hold =
    request.paymentStatus === 'authorized' || request.paymentStatus === 'requires_payment';
  return (
    <>
      <button
        type="button"
        className="danger"
        data-testid="cancel-request"
        onClick={() => setConfirming(true)}
      >
        Cancel request
      </button>
      {confirming && (
        <ConfirmDialog
          title="Cancel this request?"
          confirmLabel="Yes, cancel it"
          keepLabel="Keep my request"
          busy={cancel.busy}
          error={cancel.error}
          testId="cancel-dialog"
          confirmTestId="confirm-cancel"
          keepTestId="keep-request"
          onConfirm={() => void cancel.run()}
          onKeep={keep}
        >
          <p>
            {request.status === 'claimed'
              ? `${request.helperDisplayName || 'Your helper'} has already taken it. `
              : ''}
            {hold
              ? `The hold on your card (${amount}) will be released; you will not be charged.`
              : 'You will not be charged.'}
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
