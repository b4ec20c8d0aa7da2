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

export type RequestStatus =
  'pending' | 'claimed' | 'in_session' | 'completed' | 'cancelled' | 'expired';

export type PaymentStatus =
  'requires_payment' | 'authorized' | 'captured' | 'released' | 'refunded' | 'failed';

export type SessionStatus = 'created' | 'waiting' | 'active' | 'ended';
export type Outcome = 'resolved' | 'unresolved' | 'no_show' | 'cancelled';
export type EndOutcome = Exclude<Outcome, 'cancelled'>;

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
}

/** `sessions/{sessionId}`. */
export interface Session {
  id: string;
  requestId: string;
  customerId: string;
  helperId: string;
  status: SessionStatus;
  customerJoinUrl?: string | null;
  helperJoinUrl?: string | null;
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

export const OUTCOME_LABELS: Record<Outcome, string> = {
  resolved: 'resolved',
  unresolved: 'not resolved',
  no_show: 'no show',
  cancelled: 'cancelled',
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
