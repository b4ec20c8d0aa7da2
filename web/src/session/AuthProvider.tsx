/**
 * Who is signed in: the Firebase user, the role from the ID token's `role` claim (the truth; the
 * profile mirrors it) and the live profile `users/{uid}`.
 */
import {
  createUserWithEmailAndPassword,
  onAuthStateChanged,
  signInWithEmailAndPassword,
  signOut as firebaseSignOut,
  updateProfile,
  type User,
} from 'firebase/auth/web-extension';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { listenWhenLoaded, loadQueries, loadWrites } from '../data';
import { auth } from '../firebase';
import type { Profile, Role } from '../model';
import { forgetDevice, syncPushToken } from '../push';

export type AuthState =
  | { status: 'loading' }
  | { status: 'signedOut' }
  | { status: 'signedIn'; user: User; role: Role | null; profile: Profile | null };

interface AuthContextValue {
  state: AuthState;
  signIn(email: string, password: string): Promise<void>;
  signUp(email: string, password: string, displayName: string): Promise<void>;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

const ROLES: readonly Role[] = ['customer', 'helper', 'admin'];
const DEVICE_REMOVAL_WAIT_MS = 4000;

async function roleOf(user: User, forceRefresh = false): Promise<Role | null> {
  const token = await user.getIdTokenResult(forceRefresh);
  const role = token.claims['role'];
  return typeof role === 'string' && (ROLES as readonly string[]).includes(role)
    ? (role as Role)
    : null;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [role, setRole] = useState<Role | null | undefined>(undefined);
  const [profile, setProfile] = useState<Profile | null>(null);

  useEffect(
    () =>
      onAuthStateChanged(auth, (next) => {
        setUser(next);
        setRole(undefined);
        setProfile(null);
        if (!next) return;
        roleOf(next)
          .then((found) => (found ? found : roleOf(next, true)))
          .then((found) => {
            if (auth.currentUser?.uid === next.uid) setRole(found);
          })
          .catch(() => setRole(null));
      }),
    [],
  );

  const uid = user?.uid;
  useEffect(() => {
    if (!uid) return undefined;
    void syncPushToken(uid);
    const unavailable = (err: Error) => console.warn('profile unavailable', err);
    return listenWhenLoaded(
      loadQueries().then(({ watchProfile }) => watchProfile(uid, setProfile, unavailable)),
      unavailable,
    );
  }, [uid]);

  // The profile mirrors the claim: when an admin changed the role, refresh the ID token.
  const mirroredRole = profile?.role ?? null;
  useEffect(() => {
    if (!user || role === undefined || !mirroredRole || mirroredRole === role) return;
    roleOf(user, true)
      .then((found) => {
        if (auth.currentUser?.uid === user.uid) setRole(found);
      })
      .catch(() => undefined);
  }, [user, role, mirroredRole]);

  const signIn = useCallback(async (email: string, password: string) => {
    await signInWithEmailAndPassword(auth, email, password);
  }, []);

  const signUp = useCallback(async (email: string, password: string, displayName: string) => {
    const credential = await createUserWithEmailAndPassword(auth, email, password);
    const name = displayName.trim();
    if (!name) return;
    await updateProfile(credential.user, { displayName: name });
    try {
      // The server created users/{uid} while creating the account (the blocking function).
      const { updateOwnProfile } = await loadWrites();
      await updateOwnProfile(credential.user.uid, { displayName: name });
    } catch (err) {
      console.warn('display name not saved to the profile', err);
    }
  }, []);

  const signOut = useCallback(async () => {
    const current = auth.currentUser;
    if (current) {
      // No pushes for this user to a signed-out browser. A write waits for the server's answer,
      // so offline it would never finish: sign out anyway after a short wait.
      const removal = forgetDevice().catch((err: unknown) => {
        console.warn('device not removed', err);
      });
      await Promise.race([
        removal,
        new Promise((done) => window.setTimeout(done, DEVICE_REMOVAL_WAIT_MS)),
      ]);
    }
    await firebaseSignOut(auth);
  }, []);

  const state: AuthState = useMemo(() => {
    if (user === undefined) return { status: 'loading' };
    if (user === null) return { status: 'signedOut' };
    if (role === undefined) return { status: 'loading' };
    return { status: 'signedIn', user, role, profile };
  }, [user, role, profile]);

  const value = useMemo(
    () => ({ state, signIn, signUp, signOut }),
    [state, signIn, signUp, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** The signed-in user, for pages behind RequireRole. */
export function useSignedIn(): Extract<AuthState, { status: 'signedIn' }> {
  const { state } = useAuth();
  if (state.status !== 'signedIn') throw new Error('useSignedIn on a page for signed-in users');
  return state;
}

export function displayNameOf(state: Extract<AuthState, { status: 'signedIn' }>): string {
  return state.profile?.displayName || state.user.displayName || state.user.email || 'Signed in';
}
