/**
 * Web push: the service worker at /firebase-messaging-sw.js, this browser's device document
 * (`users/{uid}/devices/{deviceId}`) and foreground messages. In local mode FCM cannot issue a
 * token (it needs Google's servers): the in-app inbox carries every notification instead.
 */
import type { MessagePayload, Messaging } from 'firebase/messaging';
import { isLocalMode, vapidKey } from './config';
import { loadQueries, loadWrites } from './data';
import { app } from './firebase';

export const SERVICE_WORKER_PATH = '/firebase-messaging-sw.js';
const DEVICE_ID_KEY = 'homepro.deviceId';

/** A stable random id for this browser (one device document per installation). */
export function deviceId(): string {
  let id = safeStorage()?.getItem(DEVICE_ID_KEY) ?? null;
  if (!id) {
    id = `web-${randomId()}`;
    safeStorage()?.setItem(DEVICE_ID_KEY, id);
  }
  return id;
}

function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Notification permission is granted here: the only case in which FCM can reach this browser. */
export function notificationsGranted(): boolean {
  return 'Notification' in window && Notification.permission === 'granted';
}

let registration: Promise<ServiceWorkerRegistration | null> | null = null;

/** Register the messaging service worker once (all modes: it shows background pushes). */
export function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!registration) {
    registration =
      'serviceWorker' in navigator
        ? navigator.serviceWorker.register(SERVICE_WORKER_PATH).catch((err: unknown) => {
            console.warn('service worker registration failed', err);
            return null;
          })
        : Promise.resolve(null);
  }
  return registration;
}

let messaging: Promise<Messaging | null> | null = null;

/** The messaging SDK, loaded on first use (most page loads never need it). */
const messagingSdk = () => import('firebase/messaging');

function messagingInstance(): Promise<Messaging | null> {
  if (!messaging) {
    messaging = messagingSdk()
      .then(async (sdk) => ((await sdk.isSupported()) ? sdk.getMessaging(app) : null))
      .catch(() => null);
  }
  return messaging;
}

/**
 * Whether this browser can get push here:
 * `local` (emulators: no FCM), `unsupported`, `denied` (blocked by the user), or `available`.
 */
export type PushAvailability = 'local' | 'unsupported' | 'denied' | 'available';

export async function pushAvailability(): Promise<PushAvailability> {
  if (isLocalMode) return 'local';
  if (!('Notification' in window) || !(await messagingInstance())) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return 'available';
}

/** Push is on for this user in this browser: permission granted and a device document. */
export async function isPushEnabledHere(uid: string): Promise<boolean> {
  if ((await pushAvailability()) !== 'available') return false;
  if (Notification.permission !== 'granted') return false;
  const { getDeviceToken } = await loadQueries();
  return (await getDeviceToken(uid, deviceId())) !== null;
}

async function currentToken(): Promise<string> {
  const instance = await messagingInstance();
  const sw = await registerServiceWorker();
  if (!instance || !sw) throw new Error('This browser cannot receive push notifications.');
  await navigator.serviceWorker.ready;
  const { getToken } = await messagingSdk();
  const token = await getToken(instance, {
    vapidKey,
    serviceWorkerRegistration: sw,
  });
  if (!token) throw new Error('Firebase Cloud Messaging gave no token.');
  return token;
}

/** Write the token to this browser's device document if it is missing or changed. */
async function saveToken(uid: string, token: string): Promise<void> {
  const id = deviceId();
  const [{ getDeviceToken }, { createDevice, updateDeviceToken }] = await Promise.all([
    loadQueries(),
    loadWrites(),
  ]);
  const stored = await getDeviceToken(uid, id);
  if (stored === null) await createDevice(uid, id, token);
  else if (stored !== token) await updateDeviceToken(uid, id, token);
}

/** Called when push is enabled in this browser (enablePush succeeded). */
const pushEnabledListeners = new Set<() => void>();

/** Ask for permission, get an FCM token and record this device. Throws a readable Error. */
export async function enablePush(uid: string): Promise<void> {
  const availability = await pushAvailability();
  if (availability === 'local') {
    throw new Error('Push notifications are not available in local mode; use the inbox.');
  }
  if (availability === 'unsupported') {
    throw new Error('This browser cannot receive push notifications.');
  }
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Error(
      permission === 'denied'
        ? 'Notifications are blocked for this site. Allow them in your browser settings.'
        : 'Notifications were not allowed.',
    );
  }
  await saveToken(uid, await currentToken());
  pushEnabledListeners.forEach((listener) => listener());
}

/** On every app load: when permission is granted, re-get the token and keep the doc current. */
export async function syncPushToken(uid: string): Promise<void> {
  // Permission first: without it there is no token, and the messaging SDK need not load.
  if (!notificationsGranted()) return;
  if ((await pushAvailability()) !== 'available') return;
  try {
    await saveToken(uid, await currentToken());
  } catch (err) {
    console.warn('push token not refreshed', err);
  }
}

/** Stop push to this browser for this user (also done before sign-out). */
export async function forgetDevice(uid: string): Promise<void> {
  const { deleteDevice } = await loadWrites();
  await deleteDevice(uid, deviceId());
}

/**
 * Messages that arrive while a page of the app is visible (the SW shows nothing then). The
 * messaging SDK loads only once notifications are allowed here: before that no push can come.
 */
export function onForegroundMessage(handler: (payload: MessagePayload) => void): () => void {
  let unsubscribe: (() => void) | null = null;
  let stopped = false;
  const listen = () => {
    pushEnabledListeners.delete(listen);
    void Promise.all([messagingInstance(), messagingSdk()]).then(([instance, sdk]) => {
      if (instance && !stopped && !unsubscribe) unsubscribe = sdk.onMessage(instance, handler);
    });
  };
  if (notificationsGranted()) listen();
  else pushEnabledListeners.add(listen);
  return () => {
    stopped = true;
    pushEnabledListeners.delete(listen);
    unsubscribe?.();
  };
}
