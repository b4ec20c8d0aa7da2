/**
 * Every Firestore write the client makes, each shaped as firestore.rules allows: own profile
 * fields, `readAt` on own inbox items, client analytics events. State changes (devices
 * included: push.ts) go through callables only.
 */
import {
  addDoc,
  collection,
  doc,
  serverTimestamp,
  updateDoc,
  writeBatch,
} from 'firebase/firestore';
import { db } from './db';
import type { Category, QuietHours } from './model';

/** The profile fields a user may change themselves (availability goes through a callable). */
export interface ProfileChanges {
  displayName?: string;
  phone?: string | null;
  categories?: Category[];
  quietHours?: QuietHours | null;
  /** 0..60 new-job alerts an hour; null: the project's budget (MAX_JOB_ALERTS_PER_HOUR). */
  maxJobAlertsPerHour?: number | null;
}

export async function updateOwnProfile(uid: string, changes: ProfileChanges): Promise<void> {
  await updateDoc(doc(db, 'users', uid), { ...changes, updatedAt: serverTimestamp() });
}

export async function markNotificationsRead(uid: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const batch = writeBatch(db);
  for (const id of ids) {
    batch.update(doc(db, 'users', uid, 'notifications', id), { readAt: serverTimestamp() });
  }
  await batch.commit();
}

/** A client analytics event (`analytics/{id}`, built by analytics.ts), stamped by the server. */
export async function addAnalyticsEvent(event: Record<string, unknown>): Promise<void> {
  await addDoc(collection(db, 'analytics'), { ...event, timestamp: serverTimestamp() });
}
