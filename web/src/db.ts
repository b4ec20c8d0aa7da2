/**
 * Firestore, pointed at the emulator in local mode. Only queries.ts and writes.ts import it;
 * they load with the first signed-in page (data.ts), so the sign-in page carries no Firestore.
 */
import { connectFirestoreEmulator, getFirestore } from 'firebase/firestore';
import { EMULATORS, isLocalMode } from './config';
import { app } from './firebase';

export const db = getFirestore(app);

if (isLocalMode) {
  connectFirestoreEmulator(db, EMULATORS.firestore.host, EMULATORS.firestore.port);
}
