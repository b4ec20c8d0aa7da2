/**
 * Web push: the service worker at /firebase-messaging-sw.js, this browser's device (registered
 * and removed through the `register_device` / `remove_device` callables; the server names it
 * by its token and keeps at most a few per user) and foreground messages. In local mode FCM
 * cannot issue a token (it needs Google's servers): the in-app inbox carries every notification
 * instead.
 */
import type { MessagePayload, Messaging } from 'firebase/messaging';
import { isLocalMode, vapidKey } from './config';
import { loadQueries } from './data';
import { app } from './firebase';

export const SERVICE_WORKER_PATH = '/firebase-messaging-sw.js';
const DEVICE_ID_KEY = 'homepro.deviceId';
/**
 * An unchanged token is registered again after this long: past the cap the server replaces
 * the device registered longest ago, which should be a browser no longer used, not this one.
 */
const REREGISTER_AFTER_MS = 24 * 60 * 60 * 1000;

/** The callables, loaded on first use (only a browser with push allowed ever needs them). */
const loadCallables = () => import('./callables');

/** The id `register_device` answered for this browser's device (null: none yet). */
function storedDeviceId(): string | null {
  return safeStorage()?.getItem(DEVICE_ID_KEY) ?? null;
}

function storeDeviceId(id: string): void {
  safeStorage()?.setItem(DEVICE_ID_KEY, id);
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
  const id = storedDeviceId();
  if (!id) return false;
  const { getDevice } = await loadQueries();
  return (await getDevice(uid, id)) !== null;
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

/**
 * Register this browser's token unless its device already holds it (registered lately); a
 * device of an older token (or one written before the callables) is removed.
 */
async function saveToken(uid: string, token: string): Promise<void> {
  const id = storedDeviceId();
  const { getDevice } = await loadQueries();
  const stored = id ? await getDevice(uid, id) : null;
  if (stored?.token === token && Date.now() - stored.updatedAtMillis < REREGISTER_AFTER_MS) return;
  const { registerDevice, removeDevice } = await loadCallables();
  const { deviceId } = await registerDevice({ token, platform: 'web' });
  storeDeviceId(deviceId);
  if (id && id !== deviceId) {
    await removeDevice({ deviceId: id }).catch((err: unknown) => {
      console.warn('the previous device was not removed', err);
    });
  }
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

/** Stop push to this browser for the signed-in user (also done before sign-out). */
export async function forgetDevice(): Promise<void> {
  const id = storedDeviceId();
  if (!id) return;
  const { removeDevice } = await loadCallables();
  await removeDevice({ deviceId: id });
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
