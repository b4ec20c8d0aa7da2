/** The request document: its header (id, time to claim) and every field with its raw value. */
import type { ReactNode } from 'react';
import type { Timestamp } from 'firebase/firestore';
import {
  PAYMENT_LABELS,
  PROMISE_SECONDS,
  categoryLabel,
  formatInstant,
  formatMinSec,
  formatMoney,
  type ServiceRequest,
} from '../../model';
import { StatusChip, seconds } from './parts';

interface Field {
  name: string;
  label: string;
  value: ReactNode;
  raw: string | number;
}

function isoOf(ts: Timestamp | null | undefined): string {
  return ts ? ts.toDate().toISOString() : '';
}

/** Every field shown: the ones every request has, then those set on this one. */
function fieldsOf(request: ServiceRequest): Field[] {
  const time = (name: keyof ServiceRequest, label: string): Field => {
    const ts = request[name] as Timestamp | null | undefined;
    return { name, label, value: formatInstant(ts), raw: isoOf(ts) };
  };
  const count = (name: keyof ServiceRequest, label: string): Field => {
    const value = request[name] as number | null | undefined;
    return { name, label, value: value ?? '—', raw: value ?? '' };
  };
  const text = (name: keyof ServiceRequest, label: string, mono = false): Field => {
    const value = request[name] as string | null | undefined;
    const shown = mono && value ? <code>{value}</code> : value;
    return { name, label, value: shown || '—', raw: value ?? '' };
  };

  const always: Field[] = [
    {
      name: 'status',
      label: 'Status',
      value: <StatusChip status={request.status} />,
      raw: request.status,
    },
    {
      name: 'paymentStatus',
      label: 'Payment',
      value: PAYMENT_LABELS[request.paymentStatus] ?? request.paymentStatus,
      raw: request.paymentStatus,
    },
    {
      name: 'category',
      label: 'Category',
      value: categoryLabel(request.category),
      raw: request.category,
    },
    {
      name: 'amount',
      label: 'Amount',
      value: formatMoney(request.amount, request.currency),
      raw: request.amount,
    },
    text('customerId', 'Customer', true),
    {
      name: 'helperId',
      label: 'Helper',
      value: request.helperId ? (
        <>
          {request.helperDisplayName && `${request.helperDisplayName} · `}
          <code>{request.helperId}</code>
        </>
      ) : (
        '—'
      ),
      raw: request.helperId ?? '',
    },
    time('createdAt', 'Created'),
    time('dispatchableAt', 'Dispatchable'),
    time('firstClaimedAt', 'First claimed'),
    time('claimedAt', 'Claimed'),
    count('releaseCount', 'Releases'),
    count('dispatchRound', 'Rounds sent'),
    count('version', 'Version'),
  ];
  // Present only on some requests: shown when set.
  const extras: Field[] = [
    time('pendingSince', 'Pending since'),
    text('sessionId', 'Session', true),
    text('outcome', 'Outcome'),
    time('completedAt', 'Completed'),
    time('cancelledAt', 'Cancelled'),
    text('cancelledBy', 'Cancelled by', true),
    text('cancelReason', 'Cancel reason'),
    time('expiredAt', 'Expired'),
    text('paymentOwed', 'Payment owed'),
    count('paymentAttempts', 'Failed settlements'),
    {
      name: 'paymentAttention',
      label: 'Needs a decision',
      value: request.paymentAttention?.reason ?? '—',
      raw: request.paymentAttention?.reason ?? '',
    },
    {
      name: 'paymentDecision',
      label: 'Decided',
      value: request.paymentDecision
        ? `${request.paymentDecision.action} by ${request.paymentDecision.by}: ` +
          request.paymentDecision.reason
        : '—',
      raw: request.paymentDecision?.action ?? '',
    },
    time('updatedAt', 'Updated'),
  ].filter((field) => field.raw !== '');
  return [...always, ...extras];
}

export function RequestFields({ request }: { request: ServiceRequest }) {
  const firstClaim = request.firstClaimedAt ?? request.claimedAt;
  const timeToClaim = seconds(request.dispatchableAt, firstClaim);
  return (
    <div
      className="audit-request"
      data-testid="audit-request"
      data-request-id={request.id}
      data-status={request.status}
      data-payment-status={request.paymentStatus}
    >
      <div className="card-title">
        <h3>
          {categoryLabel(request.category)} request <code className="break">{request.id}</code>
        </h3>
        {timeToClaim !== null && (
          <span
            className={timeToClaim <= PROMISE_SECONDS ? 'chip chip-good' : 'chip chip-warn'}
            data-testid="audit-time-to-claim"
            data-value={timeToClaim}
          >
            Claimed after {formatMinSec(timeToClaim)}
          </span>
        )}
      </div>
      {request.description && <p className="description">{request.description}</p>}
      <dl className="facts audit-facts">
        {fieldsOf(request).map((field) => (
          <FieldRow key={field.name} field={field} />
        ))}
      </dl>
    </div>
  );
}

function FieldRow({ field }: { field: Field }) {
  return (
    <>
      <dt>{field.label}</dt>
      <dd data-testid={`audit-field-${field.name}`} data-value={field.raw}>
        {field.value}
      </dd>
    </>
  );
}
