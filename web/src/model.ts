/** The domain as the client sees it (CONTRACT.md): document shapes, states and their labels. */
import type { Timestamp } from 'firebase/firestore';

export type Role = 'customer' | 'helper' | 'admin';

export const CATEGORIES = [
  'plumbing',
  'electrical',
  'hvac',
  'appliance',
  'carpentry',
  'general',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_LABELS: Record<Category, string> = {
  plumbing: 'Plumbing',
  electrical: 'Electrical',
  hvac: 'Heating & cooling (HVAC)',
  appliance: 'Appliances',
  carpentry: 'Carpentry',
  general: 'General',
};

export const REQUEST_STATUSES = [
  'pending',
  'claimed',
  'in_session',
  'completed',
  'cancelled',
  'expired',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export type PaymentStatus =
  'requires_payment' | 'authorized' | 'captured' | 'released' | 'refunded' | 'failed';

export type SessionStatus = 'created' | 'waiting' | 'active' | 'ended';
export type Outcome = 'resolved' | 'unresolved' | 'no_show' | 'cancelled' | 'timed_out';
/** What a helper ends a session with (`timed_out` is the server's, at SESSION_MAX_MINUTES). */
export type EndOutcome = Exclude<Outcome, 'cancelled' | 'timed_out'>;

export interface QuietHours {
  start: string;
  end: string;
  tz: string;
}

/** `users/{uid}` (optional fields may be missing or null). */
export interface Profile {
  role?: Role | null;
  displayName?: string | null;
  phone?: string | null;
  isAvailable?: boolean | null;
  categories?: Category[] | null;
  quietHours?: QuietHours | null;
  /** A helper's own new-job alert budget (0..ALERTS_PER_HOUR_MAX; 0 = the job board only);
   * missing or null: the project's MAX_JOB_ALERTS_PER_HOUR. The server never goes above it. */
  maxJobAlertsPerHour?: number | null;
  updatedAt?: Timestamp | null;
}

/** The most new-job alerts an hour a helper may choose (firestore.rules allows 0..60). */
export const ALERTS_PER_HOUR_MAX = 60;

/** An alert budget's window: alerts older than an hour no longer count. */
export const ALERT_WINDOW_MS = 60 * 60 * 1000;

/**
 * `helperAlerts/{uid}` (server-written, read by its helper only): the new-job alerts of the
 * last hour, oldest first, and the budget in force when it was last written.
 */
export interface HelperAlerts {
  alerts?: Timestamp[] | null;
  limit?: number | null;
  updatedAt?: Timestamp | null;
}

/** Where a helper's alert budget stands at `nowMs`. */
export interface AlertBudget {
  /** Alerts received in the hour before `nowMs`. */
  used: number;
  /** The budget: the server's last `limit`, or the helper's own lower setting saved since. */
  limit: number | null;
  usedUp: boolean;
  /** When the next alert is allowed again (used up and limit > 0 only). */
  resumesAt: Date | null;
  /** When the figures change next by themselves (an alert leaving the window); null: never. */
  nextChangeAt: Date | null;
}

/**
 * Where the budget stands: `used of limit`, and when used up, the moment enough of the hour's
 * alerts have aged out for one more (with `used == limit`: the oldest alert + 60 min). The
 * helper's own setting counts when lower than the server's last `limit` (it applies from the
 * next alert: the server takes min(own, MAX_JOB_ALERTS_PER_HOUR)).
 */
export function alertBudget(
  state: HelperAlerts | null | undefined,
  own: number | null | undefined,
  nowMs: number,
): AlertBudget {
  const recent = (state?.alerts ?? [])
    .map((t) => t.toMillis())
    .filter((t) => t > nowMs - ALERT_WINDOW_MS)
    .sort((a, b) => a - b);
  const server = typeof state?.limit === 'number' ? state.limit : null;
  const limit =
    typeof own === 'number' && (server === null || own < server) ? own : server;
  const used = recent.length;
  const usedUp = limit !== null && used >= limit;
  const resumesAt =
    usedUp && limit !== null && limit > 0
      ? new Date(recent[used - limit] + ALERT_WINDOW_MS)
      : null;
  const nextChangeAt = used > 0 ? new Date(recent[0] + ALERT_WINDOW_MS) : null;
  return { used, limit, usedUp, resumesAt, nextChangeAt };
}

/** A clock time as "HH:MM" (24-hour), in the reader's own time zone. */
export function formatClock(when: Date): string {
  return when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** `requests/{id}.quote`: the wait shown before paying, in minutes. */
export interface ShownWait {
  expectedMinutes: number;
  p90Minutes?: number | null;
}

/** `requests/{requestId}`: read-only for the client. */
export interface ServiceRequest {
  id: string;
  customerId: string;
  category: Category;
  description: string;
  amount: number;
  currency?: string;
  status: RequestStatus;
  paymentStatus: PaymentStatus;
  helperId?: string | null;
  helperDisplayName?: string | null;
  sessionId?: string | null;
  outcome?: Outcome | null;
  createdAt?: Timestamp | null;
  pendingSince?: Timestamp | null;
  claimedAt?: Timestamp | null;
  completedAt?: Timestamp | null;
  cancelledAt?: Timestamp | null;
  expiredAt?: Timestamp | null;
  /** The wait shown before paying (`quote_wait`), as the request stored it. */
  quote?: ShownWait | null;
  // What operators read on `/admin` (the audit trail); customers and helpers ignore these.
  dispatchableAt?: Timestamp | null;
  firstClaimedAt?: Timestamp | null;
  updatedAt?: Timestamp | null;
  paymentOwed?: 'release' | 'capture' | null;
  /** Failed settlements since the last decision (PAYMENT_MAX_ATTEMPTS stops the retries). */
  paymentAttempts?: number | null;
  /** A hold that waits for an admin (`admin_settle`); listed on `/admin`. */
  paymentAttention?: PaymentAttention | null;
  paymentDecision?: PaymentDecision | null;
  cancelledBy?: string | null;
  cancelReason?: string | null;
  releaseCount?: number | null;
  dispatchRound?: number | null;
  version?: number | null;
}

export type SettleAction = 'capture' | 'release';

/** `requests/{id}.paymentAttention`: why a hold waits for a person, since when. */
export interface PaymentAttention {
  reason: 'session_timed_out' | 'payment_attempts_exhausted' | string;
  since: Timestamp;
  /** The settlement that kept failing (payment_attempts_exhausted). */
  owed?: SettleAction | null;
  attempts?: number | null;
  /** When the sweep releases it if nobody decided (session_timed_out). */
  releaseBy?: Timestamp | null;
}

/** `requests/{id}.paymentDecision`: what resolved the attention, by whom (`system`), why. */
export interface PaymentDecision {
  action: SettleAction;
  by: string;
  reason: string;
  at?: Timestamp | null;
}

/**
 * `jobs/{requestId}`: what a helper sees of a request before holding it (server-written; no
 * customer, no payment). Helpers may read it only while `open` (pending, card held).
 */
export interface Job {
  id: string;
  category: Category;
  description: string;
  amount: number;
  currency?: string;
  status: RequestStatus;
  paymentStatus: PaymentStatus;
  open: boolean;
  createdAt?: Timestamp | null;
  pendingSince?: Timestamp | null;
  updatedAt?: Timestamp | null;
}

/** Who made a transition: a signed-in user, or the server itself (`{role: "system"}`). */
export interface Actor {
  uid?: string | null;
  role: Role | 'system';
}

/** `requests/{requestId}/events/{eventId}`: one transition of the audit trail. */
export interface RequestEvent {
  id: string;
  type: string;
  from?: string | null;
  to?: string | null;
  actor?: Actor | null;
  reason?: string | null;
  at?: Timestamp | null;
}

/** `requests/{requestId}/dispatches/{roundKey}`: one dispatch round and its counts. */
export interface DispatchRound {
  /** The round key: `initial`, `released-{n}`, `escalation-{n}`. */
  id: string;
  round?: number | null;
  reason?: string | null;
  helpersTargeted?: number | null;
  devicesTargeted?: number | null;
  sent?: number | null;
  failed?: number | null;
  tokensPruned?: number | null;
  smsSent?: number | null;
  /** Promise first: the request was late and a newer one of its category waited. */
  heldBack?: boolean | null;
  startedAt?: Timestamp | null;
  finishedAt?: Timestamp | null;
}

/** `requests/{requestId}/dispatches/{roundKey}/targets/{uid}`: a helper the round targeted. */
export interface DispatchTarget {
  /** The helper's uid. */
  id: string;
  devices?: number | null;
  at?: Timestamp | null;
}

/** `analytics/{eventId}`: a server or client event. */
export interface AnalyticsEvent {
  id: string;
  type: string;
  requestId?: string | null;
  sessionId?: string | null;
  userId?: string | null;
  metadata?: Record<string, unknown> | null;
  timestamp?: Timestamp | null;
  source?: 'server' | 'client' | null;
}

/** `sessions/{sessionId}` (no video links: `join_session` / `start_session` answer them). */
export interface Session {
  id: string;
  requestId: string;
  customerId: string;
  helperId: string;
  status: SessionStatus;
  outcome?: Outcome | null;
}

/** `users/{uid}/notifications/{id}`: the in-app inbox. */
export interface InboxNotification {
  id: string;
  type: string;
  title: string;
  body: string;
  data: Record<string, string>;
  createdAt?: Timestamp | null;
  readAt?: Timestamp | null;
}

/** `config/checklists`: the safety checklist item ids per category. */
export type Checklists = Partial<Record<Category, string[]>>;

export function homePathFor(role: Role): string {
  switch (role) {
    case 'customer':
      return '/customer/request';
    case 'helper':
      return '/helper/dashboard';
    case 'admin':
      return '/admin';
  }
}

/** Whether a path belongs to the pages of `role` (used to return after sign-in). */
export function pathBelongsTo(path: string, role: Role): boolean {
  const prefix = role === 'admin' ? '/admin' : `/${role}/`;
  return path === prefix || path.startsWith(prefix);
}

export function categoryLabel(category: string): string {
  return (CATEGORY_LABELS as Record<string, string>)[category] ?? humanize(category);
}

/** `water_shutoff_located` -> "Water shutoff located". */
export function humanize(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : id;
}

export function formatMoney(cents: number, currency = 'usd'): string {
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: currency.toUpperCase(),
    }).format(cents / 100);
  } catch {
    return `$${(cents / 100).toFixed(2)}`;
  }
}

export function formatTime(ts: Timestamp | null | undefined): string {
  if (!ts) return '';
  return ts.toDate().toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  });
}

export function millis(ts: Timestamp | null | undefined): number {
  return ts ? ts.toMillis() : 0;
}

/** The promise: a dispatchable request is claimed within 15 minutes. */
export const PROMISE_SECONDS = 15 * 60;

/** Date and time to the second, for audit trails ("May 3, 2:05:09 PM"); "—" when missing. */
export function formatInstant(ts: Timestamp | null | undefined): string {
  if (!ts) return '—';
  return ts.toDate().toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A duration in seconds as "m:ss" (`75` -> "1:15", `3725` -> "62:05"); "—" when unknown. */
export function formatMinSec(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** A fraction 0..1 as a percent ("97.5%"); "—" when there is no data. */
export function formatShare(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  return `${(share * 100).toFixed(digits)}%`;
}

export const OUTCOME_LABELS: Record<Outcome, string> = {
  resolved: 'resolved',
  unresolved: 'not resolved',
  no_show: 'no show',
  cancelled: 'cancelled',
  timed_out: 'timed out',
};

/** What the customer reads for each request state. */
export function customerStatusLabel(request: ServiceRequest): string {
  switch (request.status) {
    case 'pending':
      return request.paymentStatus === 'requires_payment'
        ? 'Waiting for your card to be authorized…'
        : 'Looking for a helper…';
    case 'claimed':
      return `${request.helperDisplayName || 'Your helper'} is on it`;
    case 'in_session':
      return `In session with ${request.helperDisplayName || 'your helper'}`;
    case 'completed':
      return request.outcome
        ? `Completed — ${OUTCOME_LABELS[request.outcome] ?? request.outcome}`
        : 'Completed';
    case 'cancelled':
      return 'Cancelled';
    case 'expired':
      return 'Expired — no helper was available in time';
  }
}

/** What the helper reads for each request state. */
export function helperStatusLabel(request: ServiceRequest, myUid: string): string {
  const mine = request.helperId === myUid;
  switch (request.status) {
    case 'pending':
      return 'Open — waiting for a helper';
    case 'claimed':
      return mine ? 'Claimed by you' : 'Claimed by another helper';
    case 'in_session':
      return mine ? 'In session' : 'In session with another helper';
    case 'completed':
      return request.outcome
        ? `Completed — ${OUTCOME_LABELS[request.outcome] ?? request.outcome}`
        : 'Completed';
    case 'cancelled':
      return 'Cancelled by the customer';
    case 'expired':
      return 'Expired';
  }
}

export const PAYMENT_LABELS: Record<PaymentStatus, string> = {
  requires_payment: 'needs authorization',
  authorized: 'authorized',
  captured: 'captured',
  released: 'released',
  refunded: 'refunded',
  failed: 'failed',
};

export function paymentLabel(status: PaymentStatus): string {
  return `Card hold: ${PAYMENT_LABELS[status] ?? status}`;
}

export const SESSION_LABELS: Record<SessionStatus, string> = {
  created: 'Setting up the video session…',
  waiting: 'Waiting for the customer to join',
  active: 'Customer joined — session active',
  ended: 'Session ended',
};

/** Whether the helper serves a category: empty or missing categories mean every category. */
export function serves(profile: Profile | null, category: Category): boolean {
  const categories = profile?.categories;
  return !categories || categories.length === 0 || categories.includes(category);
}

export function isOpenForCustomerCancel(status: RequestStatus): boolean {
  return status === 'pending' || status === 'claimed';
}
