/** `/`: sign in, or sign up (email, password, display name); then the page for the role. */
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router';
import { FirebaseError } from 'firebase/app';
import { ErrorNote, Loading, NoRole } from '../components/Feedback';
import { useAction } from '../hooks';
import { homePathFor, pathBelongsTo } from '../model';
import { useAuth } from '../session/AuthProvider';

const AUTH_MESSAGES: Record<string, string> = {
  'auth/invalid-credential': 'The email or password is wrong.',
  'auth/wrong-password': 'The email or password is wrong.',
  'auth/user-not-found': 'No account uses this email. Create one instead?',
  'auth/invalid-email': 'That email address does not look right.',
  'auth/email-already-in-use': 'An account already uses this email. Sign in instead.',
  'auth/weak-password': 'Choose a password of at least 6 characters.',
  'auth/missing-password': 'Enter your password.',
  'auth/too-many-requests': 'Too many attempts. Wait a minute and try again.',
  'auth/network-request-failed': 'The sign-in service cannot be reached. Check your connection.',
};

function authErrorMessage(err: unknown): Error {
  if (err instanceof FirebaseError) {
    const known = AUTH_MESSAGES[err.code];
    if (known) return new Error(known);
    // A blocking function's refusal carries the server's own message.
    const blocked = /\(auth\/internal-error\).*?"message":"([^"]+)"/.exec(err.message);
    if (blocked?.[1]) return new Error(blocked[1]);
    return new Error(`Could not sign in (${err.code}).`);
  }
  return err instanceof Error ? err : new Error('Could not sign in.');
}

export function SignInPage() {
  const { state, signIn, signUp } = useAuth();
  const location = useLocation();
  const [signingUp, setSigningUp] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');

  const submit = useAction(async () => {
    try {
      if (signingUp) await signUp(email.trim(), password, displayName);
      else await signIn(email.trim(), password);
    } catch (err) {
      throw authErrorMessage(err);
    }
  });

  if (state.status === 'loading') return <Loading />;
  // A sign-up is signed in before its display name is saved: leave only once that is done, or
  // the next page load could cut the write short.
  if (state.status === 'signedIn' && !submit.busy) {
    if (!state.role) return <NoRole />;
    const from = (location.state as { from?: unknown } | null)?.from;
    const target =
      typeof from === 'string' && pathBelongsTo(from, state.role) ? from : homePathFor(state.role);
    return <Navigate to={target} replace />;
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit.run();
  };

  return (
    <section className="card narrow">
      <h1>{signingUp ? 'Create your account' : 'Sign in'}</h1>
      <p className="muted">
        Live video help from a home professional, with a card hold released if no one can help.
      </p>
      <form onSubmit={onSubmit} className="form" data-testid="auth-form">
        <label>
          Email
          <input
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="email"
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            required
            minLength={6}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="password"
          />
        </label>
        {signingUp && (
          <label>
            Your name
            <input
              type="text"
              autoComplete="name"
              required
              maxLength={80}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
              data-testid="display-name"
            />
          </label>
        )}
        <ErrorNote message={submit.error} testId="auth-error" />
        <button type="submit" disabled={submit.busy} data-testid="submit-auth">
          {submit.busy ? 'Please wait…' : signingUp ? 'Create account' : 'Sign in'}
        </button>
      </form>
      <p>
        {signingUp ? 'Already have an account?' : 'New to HomePro Assist?'}{' '}
        <button
          type="button"
          className="link"
          data-testid="signup-toggle"
          onClick={() => {
            setSigningUp(!signingUp);
            submit.clearError();
          }}
        >
          {signingUp ? 'Sign in' : 'Create an account'}
        </button>
      </p>
    </section>
  );
}
