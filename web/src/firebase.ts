/**
 * The Firebase app and Auth, pointed at the emulator in local mode. Firestore (db.ts) and
 * Functions (callables.ts) start in the modules that use them, which load with the pages that
 * need them: the sign-in page's first load carries neither.
 */
import { initializeApp } from 'firebase/app';
// Auth's web-extension entry is the browser build without loaders for Google's remote scripts
// (the sign-in popup's gapi, reCAPTCHA): email and password need none, and nothing in public/
// then points at a script host.
import {
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
} from 'firebase/auth/web-extension';
import { EMULATORS, firebaseConfig, isLocalMode } from './config';

export const app = initializeApp(firebaseConfig);

export const auth = initializeAuth(app, { persistence: indexedDBLocalPersistence });

if (isLocalMode) connectAuthEmulator(auth, EMULATORS.auth, { disableWarnings: true });
