/** The Firebase app and its services, pointed at the emulators in local mode. */
import { initializeApp } from 'firebase/app';
// Auth's web-extension entry is the browser build without loaders for Google's remote scripts
// (the sign-in popup's gapi, reCAPTCHA): email and password need none, and nothing in public/
// then points at a script host.
import {
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
} from 'firebase/auth/web-extension';
import { connectFirestoreEmulator, getFirestore } from 'firebase/firestore';
import { connectFunctionsEmulator, getFunctions } from 'firebase/functions';
import { EMULATORS, REGION, firebaseConfig, isLocalMode } from './config';

export const app = initializeApp(firebaseConfig);

export const auth = initializeAuth(app, { persistence: indexedDBLocalPersistence });
export const db = getFirestore(app);
export const functions = getFunctions(app, REGION);

if (isLocalMode) {
  connectAuthEmulator(auth, EMULATORS.auth, { disableWarnings: true });
  connectFirestoreEmulator(db, EMULATORS.firestore.host, EMULATORS.firestore.port);
  connectFunctionsEmulator(functions, EMULATORS.functions.host, EMULATORS.functions.port);
}
