/**
 * `/admin`: holds that wait for a person (`paymentAttention`): a session that timed out (was
 * help given?) or a payment whose settlement failed PAYMENT_MAX_ATTEMPTS times. An admin
 * captures or releases each with a reason (`admin_settle`, audited); a timed-out session's hold
 * nobody decides is released at its `releaseBy`.
 */
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ADMIN_SETTLE_REASON_MAX, adminSettle } from '../../callables';
import { ErrorNote } from '../../components/Feedback';
import { useAction, useLive } from '../../hooks';
import {
  categoryLabel,
  formatMoney,
  formatTime,
  type ServiceRequest,
  type SettleAction,
} from '../../model';
import { ATTENTION_LIMIT, watchPaymentAttention } from '../../queries';
import { LiveList } from '../audit/parts';
import { REQUEST_PARAM } from '../audit/requestParam';

const REASONS: Record<string, string> = {
  session_timed_out: 'Session timed out',
  payment_attempts_exhausted: 'Payment keeps failing',
};

export function PaymentAttention() {
  const live = useLive('payment-attention', watchPaymentAttention);
  return (
    <section
      className="card attention"
      aria-labelledby="attention-title"
      data-testid="payment-attention"
    >
      <h2 id="attention-title">Payments needing a decision</h2>
      <LiveList
        live={live}
        what="payments needing a decision"
        testId="attention-list"
        empty="No payment needs a decision."
      >
        {(requests) => (
          <ul
            className="attention-list"
            aria-label={`Up to ${ATTENTION_LIMIT} holds, oldest first`}
          >
            {requests.map((request) => (
              <AttentionItem key={request.id} request={request} />
            ))}
          </ul>
        )}
      </LiveList>
    </section>
  );
}

function AttentionItem({ request }: { request: ServiceRequest }) {
  const [params] = useSearchParams();
  const [reason, setReason] = useState('');
  const [asked, setAsked] = useState(false);
  const settle = useAction((action: SettleAction) =>
    adminSettle({ requestId: request.id, action, reason: reason.trim() }),
  );
  const attention = request.paymentAttention;
  if (!attention) return null;
  const owesRelease = attention.owed === 'release';
  const missing = asked && !reason.trim() ? 'Say why (kept in the audit trail).' : null;
  const decide = (action: SettleAction) => {
    setAsked(true);
    if (!reason.trim()) return;
    void settle.run(action);
  };
  const auditLink = () => {
    const next = new URLSearchParams(params);
    next.set(REQUEST_PARAM, request.id);
    return `?${next.toString()}`;
  };

  return (
    <li
      className="attention-item"
      data-testid="attention-request"
      data-request-id={request.id}
      data-reason={attention.reason}
    >
      <div className="attention-head">
        <strong>{REASONS[attention.reason] ?? attention.reason}</strong>{' '}
        <span>
          {categoryLabel(request.category)} · {formatMoney(request.amount, request.currency)}
        </span>
      </div>
      <Link to={auditLink()} data-testid="attention-audit">
        <code>{request.id}</code>
      </Link>
      <small className="muted">
        since {formatTime(attention.since)}
        {attention.releaseBy && <> · released {formatTime(attention.releaseBy)} if undecided</>}
        {attention.owed && (
          <>
            {' '}
            · {attention.owed} failed {attention.attempts ?? ''} times
          </>
        )}
      </small>
      <label className="field">
        Reason
        <input
          value={reason}
          maxLength={ADMIN_SETTLE_REASON_MAX}
          onChange={(event) => setReason(event.target.value)}
          placeholder="e.g. the customer confirmed the fix"
          data-testid="attention-reason-input"
        />
      </label>
      <div className="attention-actions">
        <button
          type="button"
          disabled={settle.busy || owesRelease}
          title={owesRelease ? 'This request owes the customer a release' : undefined}
          onClick={() => decide('capture')}
          data-testid="attention-capture"
        >
          Capture
        </button>
        <button
          type="button"
          className="secondary"
          disabled={settle.busy}
          onClick={() => decide('release')}
          data-testid="attention-release"
        >
          Release
        </button>
      </div>
      <ErrorNote message={missing ?? settle.error} testId="attention-settle-error" />
    </li>
  );
}
