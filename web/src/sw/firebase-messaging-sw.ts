/**
 * The FCM service worker, built to public/firebase-messaging-sw.js as one classic script with
 * the Firebase config baked in at build time (firebase/app + firebase/messaging/sw from npm).
 *
 * Pushes are data-only (CONTRACT.md, Notifications): with no visible page the SDK hands each to
 * onBackgroundMessage, which shows exactly one notification. A payload with a `notification`
 * block is shown by the SDK itself, so it is never shown again here.
 */
import { initializeApp } from 'firebase/app';
import { getMessaging, onBackgroundMessage, type MessagePayload } from 'firebase/messaging/sw';
import { firebaseConfig } from '../config';

// The few service-worker types used here (the DOM and WebWorker libs cannot share a program).
interface SwWindowClient {
  readonly url: string;
  focus(): Promise<SwWindowClient>;
  navigate(url: string): Promise<SwWindowClient | null>;
  postMessage(message: unknown): void;
}
interface SwClients {
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<SwWindowClient[]>;
  openWindow(url: string): Promise<SwWindowClient | null>;
  claim(): Promise<void>;
}
interface SwExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface SwNotificationEvent extends SwExtendableEvent {
  readonly action: string;
  readonly notification: Notification;
}
interface SwGlobalScope {
  readonly location: Location;
  readonly registration: ServiceWorkerRegistration;
  readonly clients: SwClients;
  skipWaiting(): Promise<void>;
  addEventListener(
    type: 'install' | 'activate',
    listener: (event: SwExtendableEvent) => void,
  ): void;
  addEventListener(type: 'notificationclick', listener: (event: SwNotificationEvent) => void): void;
}
declare const self: SwGlobalScope;

type ActionNotificationOptions = NotificationOptions & {
  actions?: { action: string; title: string }[];
};

const NAVIGATE_MESSAGE = 'homepro:navigate';

const messaging = getMessaging(initializeApp(firebaseConfig));

self.addEventListener('install', () => {
  void self.skipWaiting();
});
self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

onBackgroundMessage(messaging, (payload: MessagePayload) => {
  if (payload.notification) return undefined; // the SDK has shown it already
  const data = payload.data ?? {};
  const options: ActionNotificationOptions = {
    body: data.body ?? '',
    data,
    tag: `${data.type}-${data.requestId}`,
    actions: [
      { action: 'view', title: 'View' },
      { action: 'dismiss', title: 'Dismiss' },
    ],
  };
  return self.registration.showNotification(data.title || 'HomePro Assist', options);
});

/** The app URL a notification opens: its same-origin `data.url`, marked as from a notification. */
function targetUrl(data: unknown): string {
  const fields = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const raw = typeof fields.url === 'string' && fields.url ? fields.url : '/';
  let url = new URL(raw, self.location.origin);
  if (url.origin !== self.location.origin) url = new URL('/', self.location.origin);
  url.searchParams.set('from', 'notification');
  if (typeof fields.type === 'string' && fields.type) url.searchParams.set('type', fields.type);
  return url.href;
}

async function focusOrOpen(url: string): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
  if (!open) {
    await self.clients.openWindow(url);
    return;
  }
  const focused = await open.focus().catch(() => open);
  try {
    if (await focused.navigate(url)) return;
  } catch {
    // a page this worker does not control cannot be navigated from here: ask the app instead
  }
  focused.postMessage({ kind: NAVIGATE_MESSAGE, url });
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  if (event.action === 'dismiss') return;
  event.waitUntil(focusOrOpen(targetUrl(event.notification.data)));
});
