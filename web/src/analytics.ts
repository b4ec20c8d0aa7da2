/**
 * Client analytics events (`analytics/{id}`, source "client"): fire and forget. A failure is
 * logged and never reaches the UI.
 */
import { loadWrites } from './data';
import { auth } from './firebase';

export type ClientEventType =
  | 'page_view'
  | 'request_form_submitted'
  | 'cancel_confirmed'
  | 'notification_prompt_shown'
  | 'notifications_enabled'
  | 'notification_opened';

type MetadataValue = string | number | boolean | null;
type MetadataKey =
  | 'path'
  | 'notificationType'
  | 'fromStatus'
  | 'paymentStatus'
  | 'category'
  | 'outcome'
  | 'surface'
  | 'mode';

export interface ClientEvent {
  requestId?: string | null;
  sessionId?: string | null;
  /** Only the keys the rules allow (`clientMetadataKeys` in firestore.rules). */
  metadata?: Partial<Record<MetadataKey, MetadataValue | undefined>>;
}

const MAX_METADATA_KEYS = 10;
const MAX_ID_LENGTH = 128;
// The rules refuse longer metadata strings (and keys other than the ones the app records).
const MAX_METADATA_STRING = 256;

function cleanMetadata(
  metadata: ClientEvent['metadata'],
): Record<string, MetadataValue> | undefined {
  if (!metadata) return undefined;
  const entries = Object.entries(metadata)
    .filter((entry): entry is [string, MetadataValue] => entry[1] !== undefined)
    .map(([key, value]): [string, MetadataValue] => [
      key,
      typeof value === 'string' ? value.slice(0, MAX_METADATA_STRING) : value,
    ])
    .slice(0, MAX_METADATA_KEYS);
  return entries.length ? Object.fromEntries(entries) : undefined;
}

function validId(id: string | null | undefined): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH;
}

export function track(type: ClientEventType, event: ClientEvent = {}): void {
  const uid = auth.currentUser?.uid;
  if (!uid) return; // the rules take only a signed-in user's own events
  try {
    const metadata = cleanMetadata(event.metadata);
    const data: Record<string, unknown> = {
      type,
      userId: uid,
      source: 'client',
      ...(validId(event.requestId) ? { requestId: event.requestId } : {}),
      ...(validId(event.sessionId) ? { sessionId: event.sessionId } : {}),
      ...(metadata ? { metadata } : {}),
    };
    loadWrites()
      .then((writes) => writes.addAnalyticsEvent(data))
      .catch((err: unknown) => {
        console.warn('analytics event not recorded', type, err);
      });
  } catch (err) {
    console.warn('analytics event not recorded', type, err);
  }
}
