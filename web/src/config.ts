/**
 * Build-time configuration (Vite env). Shared by the page and the service worker, so it touches
 * nothing but `import.meta.env` and `location`.
 */
import type { FirebaseOptions } from 'firebase/app';

// Vite replaces this at build time; outside Vite (a test importing a module) it is absent.
const env: Partial<ImportMetaEnv> = import.meta.env ?? {};

export const PROJECT_ID_LOCAL = 'demo-homepro';
export const REGION = 'us-central1';

const LOCAL_FIREBASE_CONFIG: FirebaseOptions = {
  apiKey: 'local-demo-key',
  authDomain: 'demo-homepro.firebaseapp.com',
  projectId: PROJECT_ID_LOCAL,
  storageBucket: 'demo-homepro.appspot.com',
  messagingSenderId: '000000000000',
  appId: '1:000000000000:web:0000000000000000',
};

function parseFirebaseConfig(raw: string | undefined): FirebaseOptions {
  if (!raw || !raw.trim()) return LOCAL_FIREBASE_CONFIG;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object') return parsed as FirebaseOptions;
  } catch {
    // fall through: a broken VITE_FIREBASE_CONFIG must not take the page down silently
  }
  console.error('VITE_FIREBASE_CONFIG is not a JSON object; using the local demo config');
  return LOCAL_FIREBASE_CONFIG;
}

export const firebaseConfig: FirebaseOptions = parseFirebaseConfig(env.VITE_FIREBASE_CONFIG);

export const vapidKey: string | undefined = env.VITE_VAPID_KEY || undefined;

/** reCAPTCHA Enterprise site key for App Check (production; unset: no App Check token). */
export const appCheckSiteKey: string | undefined =
  env.VITE_RECAPTCHA_ENTERPRISE_SITE_KEY || undefined;

export const stripePublishableKey: string | undefined =
  env.VITE_STRIPE_PUBLISHABLE_KEY || undefined;

/** Local mode: the emulator suite, test cards in a select, no FCM token (no Google servers). */
export const isLocalMode: boolean = (() => {
  const flag = env.VITE_HOMEPRO_LOCAL;
  if (flag === '1' || flag === 'true') return true;
  if (flag === '0' || flag === 'false') return false;
  const host = globalThis.location?.hostname ?? '';
  return host === '127.0.0.1' || host === 'localhost';
})();

export const EMULATORS = {
  auth: 'http://127.0.0.1:9099',
  firestore: { host: '127.0.0.1', port: 8080 },
  functions: { host: '127.0.0.1', port: 5001 },
} as const;
