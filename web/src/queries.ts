/**
 * Every Firestore read the client makes: the collection queries (their shapes are listed in
 * QUERY_SHAPES so a test can check each against firestore.indexes.json) and the document reads.
 * Ordering is done client-side wherever that avoids a composite index.
 */
import {
  collection,
  doc,
  getDoc,
  limit,
  onSnapshot,
  orderBy,
  query,
  where,
  Timestamp,
  type DocumentData,
  type FirestoreError,
  type QueryDocumentSnapshot,
  type Unsubscribe,
} from 'firebase/firestore';
import { db } from './db';
import {
  millis,
  type AnalyticsEvent,
  type Checklists,
  type DispatchRound,
  type DispatchTarget,
  type HelperAlerts,
  type InboxNotification,
  type Job,
  type Profile,
  type RequestEvent,
  type ServiceRequest,
  type Session,
} from './model';

export interface QueryShape {
  /** A name for the query (the function in this module that runs it). */
  name: string;
  /** The collection path; `{uid}` stands for the signed-in user. */
  collection: string;
  /** The last path segment: `collectionGroup` in firestore.indexes.json. */
  collectionGroup: string;
  /** Fields compared with `==`. */
  equals: string[];
  /** Range / orderBy fields with their direction, in order. */
  orderBy: [field: string, direction: 'asc' | 'desc'][];
  limit?: number;
}

export const INBOX_LIMIT = 30;
/** The admin's list of the newest requests (its QUERY_SHAPES entry repeats the number). */
export const RECENT_REQUESTS_LIMIT = 20;
/** The admin's list of holds waiting for a decision (its QUERY_SHAPES entry repeats it). */
export const ATTENTION_LIMIT = 50;

export const QUERY_SHAPES: readonly QueryShape[] = [
  {
    name: 'watchCustomerRequests',
    collection: 'requests',
    collectionGroup: 'requests',
    equals: ['customerId'],
    orderBy: [],
  },
  {
    name: 'watchJobBoard',
    collection: 'jobs',
    collectionGroup: 'jobs',
    equals: ['open'],
    orderBy: [],
  },
  {
    name: 'watchHeldJobs',
    collection: 'requests',
    collectionGroup: 'requests',
    equals: ['helperId'],
    orderBy: [],
  },
  {
    name: 'watchInbox',
    collection: 'users/{uid}/notifications',
    collectionGroup: 'notifications',
    equals: [],
    orderBy: [['createdAt', 'desc']],
    limit: INBOX_LIMIT,
  },
  {
    name: 'watchRecentRequests',
    collection: 'requests',
    collectionGroup: 'requests',
    equals: [],
    orderBy: [['createdAt', 'desc']],
    limit: 20,
  },
  {
    name: 'watchPaymentAttention',
    collection: 'requests',
    collectionGroup: 'requests',
    equals: [],
    orderBy: [['paymentAttention.since', 'asc']],
    limit: 50,
  },
  {
    name: 'watchRequestEvents',
    collection: 'requests/{requestId}/events',
    collectionGroup: 'events',
    equals: [],
    orderBy: [],
  },
  {
    name: 'watchDispatchRounds',
    collection: 'requests/{requestId}/dispatches',
    collectionGroup: 'dispatches',
    equals: [],
    orderBy: [],
  },
  {
    name: 'watchDispatchTargets',
    collection: 'requests/{requestId}/dispatches/{roundKey}/targets',
    collectionGroup: 'targets',
    equals: [],
    orderBy: [],
  },
  {
    name: 'watchRequestAnalytics',
    collection: 'analytics',
    collectionGroup: 'analytics',
    equals: ['requestId'],
    orderBy: [],
  },
];

type OnError = (error: FirestoreError) => void;

function requestOf(snap: QueryDocumentSnapshot<DocumentData>): ServiceRequest {
  return { ...(snap.data() as Omit<ServiceRequest, 'id'>), id: snap.id };
}

function jobOf(snap: QueryDocumentSnapshot<DocumentData>): Job {
  return { ...(snap.data() as Omit<Job, 'id'>), id: snap.id };
}

function newestFirst(a: ServiceRequest | Job, b: ServiceRequest | Job): number {
  return (
    millis(b.pendingSince ?? b.createdAt) - millis(a.pendingSince ?? a.createdAt) ||
    millis(b.createdAt) - millis(a.createdAt)
  );
}

function byCreatedDesc(a: ServiceRequest, b: ServiceRequest): number {
  return millis(b.createdAt) - millis(a.createdAt);
}

// ---------------------------------------------------------------- collection queries

/** The customer's own requests, newest first (sorted here: no composite index needed). */
export function watchCustomerRequests(
  uid: string,
  onNext: (requests: ServiceRequest[]) => void,
  onError: OnError,
): Unsubscribe {
  const q = query(collection(db, 'requests'), where('customerId', '==', uid));
  return onSnapshot(q, (snap) => onNext(snap.docs.map(requestOf).sort(byCreatedDesc)), onError);
}

/**
 * The job board: the open jobs (`jobs/{requestId}`, exactly the shape the rules allow a helper
 * to list: `open == true`), newest first. A helper reads the request itself only once they
 * hold it. Filtering by the helper's categories happens in the caller.
 */
export function watchJobBoard(onNext: (jobs: Job[]) => void, onError: OnError): Unsubscribe {
  const q = query(collection(db, 'jobs'), where('open', '==', true));
  return onSnapshot(q, (snap) => onNext(snap.docs.map(jobOf).sort(newestFirst)), onError);
}

/** Requests the helper holds or held (`helperId == uid`), newest first. */
export function watchHeldJobs(
  uid: string,
  onNext: (requests: ServiceRequest[]) => void,
  onError: OnError,
): Unsubscribe {
  const q = query(collection(db, 'requests'), where('helperId', '==', uid));
  return onSnapshot(q, (snap) => onNext(snap.docs.map(requestOf).sort(newestFirst)), onError);
}

// ---------------------------------------------------------------- admin: audit trails

/** The newest requests of all customers (admins only), newest first. */
export function watchRecentRequests(
  onNext: (requests: ServiceRequest[]) => void,
  onError: OnError,
): Unsubscribe {
  const q = query(
    collection(db, 'requests'),
    orderBy('createdAt', 'desc'),
    limit(RECENT_REQUESTS_LIMIT),
  );
  return onSnapshot(q, (snap) => onNext(snap.docs.map(requestOf)), onError);
}

/**
 * Requests whose hold waits for an admin (`paymentAttention` set: a timed-out session, or a
 * payment that failed PAYMENT_MAX_ATTEMPTS times), oldest first. Ordering by the map's field
 * leaves out every request without it (a single-field index).
 */
export function watchPaymentAttention(
  onNext: (requests: ServiceRequest[]) => void,
  onError: OnError,
): Unsubscribe {
  const q = query(
    collection(db, 'requests'),
    orderBy('paymentAttention.since', 'asc'),
    limit(ATTENTION_LIMIT),
  );
  return onSnapshot(q, (snap) => onNext(snap.docs.map(requestOf)), onError);
}

function withId<T extends { id: string }>(snap: QueryDocumentSnapshot<DocumentData>): T {
  return { ...(snap.data({ serverTimestamps: 'estimate' }) as Omit<T, 'id'>), id: snap.id } as T;
}

/** A request's audit trail, oldest first (a request has a handful: sorted here). */
export function watchRequestEvents(
  requestId: string,
  onNext: (events: RequestEvent[]) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    collection(db, 'requests', requestId, 'events'),
    (snap) =>
      onNext(
        snap.docs
          .map((d) => withId<RequestEvent>(d))
          .sort((a, b) => millis(a.at) - millis(b.at) || a.id.localeCompare(b.id)),
      ),
    onError,
  );
}

/** A request's dispatch rounds in the order they were sent. */
export function watchDispatchRounds(
  requestId: string,
  onNext: (rounds: DispatchRound[]) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    collection(db, 'requests', requestId, 'dispatches'),
    (snap) =>
      onNext(
        snap.docs
          .map((d) => withId<DispatchRound>(d))
          .sort(
            (a, b) =>
              (a.round ?? Number.MAX_SAFE_INTEGER) - (b.round ?? Number.MAX_SAFE_INTEGER) ||
              millis(a.startedAt) - millis(b.startedAt) ||
              a.id.localeCompare(b.id),
          ),
      ),
    onError,
  );
}

/** The helpers one dispatch round targeted, by uid. */
export function watchDispatchTargets(
  requestId: string,
  roundKey: string,
  onNext: (targets: DispatchTarget[]) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    collection(db, 'requests', requestId, 'dispatches', roundKey, 'targets'),
    (snap) =>
      onNext(
        snap.docs.map((d) => withId<DispatchTarget>(d)).sort((a, b) => a.id.localeCompare(b.id)),
      ),
    onError,
  );
}

/** Every analytics event about a request (notifications sent among them), oldest first. */
export function watchRequestAnalytics(
  requestId: string,
  onNext: (events: AnalyticsEvent[]) => void,
  onError: OnError,
): Unsubscribe {
  const q = query(collection(db, 'analytics'), where('requestId', '==', requestId));
  return onSnapshot(
    q,
    (snap) =>
      onNext(
        snap.docs
          .map((d) => withId<AnalyticsEvent>(d))
          .sort(
            (a, b) => millis(a.timestamp) - millis(b.timestamp) || a.id.localeCompare(b.id),
          ),
      ),
    onError,
  );
}

export interface InboxSnapshot {
  items: InboxNotification[];
  /** Notifications that arrived after the listener's first server snapshot. */
  arrived: InboxNotification[];
}

/** The user's inbox, newest first, at most INBOX_LIMIT items. */
export function watchInbox(
  uid: string,
  onNext: (inbox: InboxSnapshot) => void,
  onError: OnError,
): Unsubscribe {
  const q = query(
    collection(db, 'users', uid, 'notifications'),
    orderBy('createdAt', 'desc'),
    limit(INBOX_LIMIT),
  );
  let seenServer = false;
  return onSnapshot(
    q,
    { includeMetadataChanges: true }, // to learn when the first server snapshot has arrived
    (snap) => {
      const items = snap.docs.map((d) => ({
        ...(d.data({ serverTimestamps: 'estimate' }) as Omit<InboxNotification, 'id'>),
        id: d.id,
      }));
      const arrived = seenServer
        ? snap
            .docChanges()
            .filter((change) => change.type === 'added')
            .map((change) => items.find((item) => item.id === change.doc.id))
            .filter((item): item is InboxNotification => item !== undefined)
        : [];
      if (!snap.metadata.fromCache) seenServer = true;
      onNext({ items, arrived });
    },
    onError,
  );
}

// ---------------------------------------------------------------- documents

/** The signed-in user's own profile; null while the server has not created it. */
export function watchProfile(
  uid: string,
  onNext: (profile: Profile | null) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    doc(db, 'users', uid),
    (snap) => onNext(snap.exists() ? (snap.data() as Profile) : null),
    onError,
  );
}

/** The helper's alert budget state (`helperAlerts/{uid}`); null until the server first alerts. */
export function watchHelperAlerts(
  uid: string,
  onNext: (alerts: HelperAlerts | null) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    doc(db, 'helperAlerts', uid),
    (snap) => onNext(snap.exists() ? (snap.data() as HelperAlerts) : null),
    onError,
  );
}

/**
 * One open job (what a helper may read before holding the request); null when it does not
 * exist. A job that is no longer open is refused to helpers: `onError` gets permission-denied.
 */
export function watchJob(
  requestId: string,
  onNext: (job: Job | null) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    doc(db, 'jobs', requestId),
    (snap) => onNext(snap.exists() ? { ...(snap.data() as Omit<Job, 'id'>), id: snap.id } : null),
    onError,
  );
}

/** One request; null when it does not exist. Permission errors reach `onError`. */
export function watchRequest(
  requestId: string,
  onNext: (request: ServiceRequest | null) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    doc(db, 'requests', requestId),
    (snap) =>
      onNext(
        snap.exists() ? { ...(snap.data() as Omit<ServiceRequest, 'id'>), id: snap.id } : null,
      ),
    onError,
  );
}

export function watchSession(
  sessionId: string,
  onNext: (session: Session | null) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    doc(db, 'sessions', sessionId),
    (snap) =>
      onNext(snap.exists() ? { ...(snap.data() as Omit<Session, 'id'>), id: snap.id } : null),
    onError,
  );
}

export function watchChecklists(
  onNext: (checklists: Checklists | null) => void,
  onError: OnError,
): Unsubscribe {
  return onSnapshot(
    doc(db, 'config', 'checklists'),
    (snap) => onNext(snap.exists() ? (snap.data() as Checklists) : null),
    onError,
  );
}

/** One of the user's devices: its token and when it was last registered; null if none. */
export async function getDevice(
  uid: string,
  deviceId: string,
): Promise<{ token: string; updatedAtMillis: number } | null> {
  const snap = await getDoc(doc(db, 'users', uid, 'devices', deviceId));
  const token: unknown = snap.exists() ? snap.get('token') : null;
  if (typeof token !== 'string') return null;
  const updatedAt: unknown = snap.get('updatedAt') ?? snap.get('createdAt');
  return { token, updatedAtMillis: updatedAt instanceof Timestamp ? updatedAt.toMillis() : 0 };
}
