/** The backend's callable functions (CONTRACT.md, Callable functions), typed. */
import { connectFunctionsEmulator, getFunctions, httpsCallable } from 'firebase/functions';
import { EMULATORS, REGION, appCheckSiteKey, isLocalMode } from './config';
import { app } from './firebase';
import type {
  Category,
  EndOutcome,
  PaymentStatus,
  RequestStatus,
  SessionStatus,
  SettleAction,
} from './model';

export { errorCode, errorMessage } from './errors';

const functions = getFunctions(app, REGION);
if (isLocalMode) {
  connectFunctionsEmulator(functions, EMULATORS.functions.host, EMULATORS.functions.port);
}

/**
 * App Check (reCAPTCHA Enterprise): every callable refuses a call without its token in
 * production. Started before the first call, loaded only where a site key is configured; the
 * emulators cannot check tokens offline, so local mode has none (README, App Check).
 */
const appCheckReady: Promise<unknown> =
  appCheckSiteKey && !isLocalMode
    ? import('firebase/app-check').then(({ initializeAppCheck, ReCaptchaEnterpriseProvider }) =>
        initializeAppCheck(app, {
          provider: new ReCaptchaEnterpriseProvider(appCheckSiteKey as string),
          isTokenAutoRefreshEnabled: true,
        }),
      )
    : Promise.resolve();

function callable<Input, Output>(name: string): (data: Input) => Promise<Output> {
  const fn = httpsCallable<Input, Output>(functions, name);
  return async (data: Input) => {
    await appCheckReady;
    return (await fn(data)).data;
  };
}

/** The wait a customer is shown before the card step (`quote_wait`, customers only). */
export interface WaitQuote {
  /** Passed to `create_request`: the request stores what was shown. */
  quoteId: string;
  category: Category;
  /** The expected wait for a first claim, in minutes. */
  expectedMinutes: number;
  /** 9 in 10 are claimed within this many minutes. */
  p90Minutes: number;
  /** Available helpers of the category not busy with a job now. */
  helpersAvailable: number;
  /** `expectedMinutes > 15`: the promise cannot be made; the customer chooses. */
  overPromise: boolean;
  /** ISO 8601: after it, `create_request` refuses the quote (failed-precondition). */
  expiresAt: string;
}

export const quoteWait = callable<{ category: Category }, WaitQuote>('quote_wait');

export interface CreateRequestInput {
  category: Category;
  description: string;
  paymentMethodId: string;
  clientRequestId: string;
  /** The quote shown (`quote_wait`); expired -> failed-precondition, ask again. */
  quoteId?: string;
}
export interface CreateRequestResult {
  requestId: string;
  status: RequestStatus;
  paymentStatus: PaymentStatus;
  amount: number;
  clientSecret?: string | null;
}

export const createRequest = callable<CreateRequestInput, CreateRequestResult>('create_request');

export const cancelRequest = callable<
  { requestId: string; reason?: string },
  { requestId: string; status: 'cancelled'; paymentStatus: PaymentStatus }
>('cancel_request');

export const claimRequest = callable<
  { requestId: string },
  { requestId: string; status: 'claimed' }
>('claim_request');

export const releaseClaim = callable<
  { requestId: string },
  { requestId: string; status: RequestStatus; paymentStatus?: PaymentStatus }
>('release_claim');

export const startSession = callable<
  { requestId: string; checklist: Record<string, boolean> },
  { sessionId: string; status: SessionStatus; helperJoinUrl: string }
>('start_session');

export const joinSession = callable<
  { sessionId: string },
  { sessionId: string; status: SessionStatus; customerJoinUrl: string }
>('join_session');

export interface EndSessionInput {
  sessionId: string;
  outcome: EndOutcome;
  notes?: string;
}
export const endSession = callable<
  EndSessionInput,
  { sessionId: string; status: 'ended'; paymentStatus: PaymentStatus }
>('end_session');

export const setAvailability = callable<{ isAvailable: boolean }, { isAvailable: boolean }>(
  'set_availability',
);

/** An admin captures or releases a hold that waits for a person (`paymentAttention`). */
export interface AdminSettleInput {
  requestId: string;
  action: SettleAction;
  /** Why (required, at most ADMIN_SETTLE_REASON_MAX characters): kept in the audit trail. */
  reason: string;
}
export const ADMIN_SETTLE_REASON_MAX = 500;
export const adminSettle = callable<
  AdminSettleInput,
  {
    requestId: string;
    action: SettleAction;
    paymentStatus: PaymentStatus;
    paymentOwed: SettleAction | null;
  }
>('admin_settle');
/** A push token of this installation: the server names the device by it (same token, same id). */
export const registerDevice = callable<
  { token: string; platform: 'web' | 'android' | 'ios' },
  { deviceId: string; created: boolean; replaced: number }
>('register_device');

export const removeDevice = callable<
  { token: string } | { deviceId: string },
  { deviceId: string; removed: boolean }
>('remove_device');

/** `dispatch_report`'s window: ISO-8601 instants with an offset; the server defaults both. */
export interface DispatchReportInput {
  since?: string;
  until?: string;
}

/** Requests counted by raw status; a status with none may be missing. */
export type StatusCounts = Partial<Record<RequestStatus, number>>;

export interface TimeToClaimSeconds {
  p50: number | null;
  p90: number | null;
  p99?: number | null;
}

export interface CategoryReport {
  total: number;
  byStatus?: StatusCounts;
  claimed?: number;
  undecided?: number;
  claimedWithin15MinShare: number | null;
  timeToClaimSeconds?: TimeToClaimSeconds;
  expiryRate?: number | null;
  cancellationRate?: number | null;
}

/** One histogram bar: claims in `(fromSeconds, toSeconds]` (the first bar from 0 itself, so a
 * claim at exactly the promise is left of its line); `toSeconds` null = open-ended. */
export interface HistogramBucket {
  fromSeconds: number;
  toSeconds: number | null;
  count: number;
}

/** Requests shown one side of the promise (a wait <= 15 minutes, or more) before paying. */
export interface PromiseSide {
  requests: number;
  /** Claimed within 15 minutes of becoming dispatchable. */
  claimedWithin15: number;
  /** Still waiting, dispatchable less than 15 minutes ago: not in the share yet. */
  undecided: number;
  /** claimedWithin15 / (requests - undecided); null when none is decided. */
  claimedWithin15Share: number | null;
}

/** The quotes (`quote_wait`) shown in the window, and those no request used. */
export interface QuoteCounts {
  shown: number;
  unused: number;
  shownWithin15: number;
  unusedWithin15: number;
  shownOver15: number;
  unusedOver15: number;
}

/** `dispatch_report.promiseKept`: how often the wait shown before paying was kept. */
export interface PromiseKept {
  shownWithin15: PromiseSide;
  shownOver15: PromiseSide;
  quotes?: QuoteCounts;
}

/**
 * The 15-minute promise over a window (CONTRACT.md, `dispatch_report`). Rates are fractions
 * 0..1, null when there is no data; the population is the requests dispatchable in the window.
 */
export interface DispatchReport {
  window: { since: string; until: string };
  promiseSeconds?: number;
  requests: { total: number; byStatus: StatusCounts };
  /** Requests of the window ever claimed. */
  claimed?: number;
  /** Still waiting for a first claim, dispatchable less than 15 minutes ago: not in the share. */
  undecided?: number;
  timeToClaimSeconds: TimeToClaimSeconds;
  claimedWithin15MinShare: number | null;
  expiryRate: number | null;
  cancellationRate: number | null;
  byCategory: Record<string, CategoryReport>;
  roundsPerClaim: number | null;
  push: { sent: number; failed: number; pruned: number; notifications?: number; sms?: number };
  timeToClaimHistogram?: HistogramBucket[];
  /** The wait shown before paying, kept or not (requests made with a `quoteId`). */
  promiseKept?: PromiseKept;
}

export const dispatchReport = callable<DispatchReportInput, DispatchReport>('dispatch_report');
