/** The header on every page: brand, the user's name and role, links, sign out. */
import { Link, NavLink, useNavigate } from 'react-router';
import { displayNameOf, useAuth } from '../session/AuthProvider';
import { homePathFor, type Role } from '../model';
import { useAction } from '../hooks';

const LINKS: Record<Role, { to: string; label: string; testId: string }[]> = {
  customer: [{ to: '/customer/request', label: 'New request', testId: 'nav-new-request' }],
  helper: [
    { to: '/helper/dashboard', label: 'Dashboard', testId: 'nav-dashboard' },
    { to: '/helper/settings', label: 'Settings', testId: 'nav-settings' },
  ],
  admin: [{ to: '/admin', label: 'Operations', testId: 'nav-admin' }],
};

export function Header() {
  const { state, signOut } = useAuth();
  const navigate = useNavigate();
  const leaving = useAction(async () => {
    await signOut();
    navigate('/', { replace: true });
  });
  const signedIn = state.status === 'signedIn' ? state : null;
  const role = signedIn?.role ?? null;

  return (
    <header className="app-header">
      <Link className="brand" to={role ? homePathFor(role) : '/'}>
        HomePro Assist
      </Link>
      {signedIn && (
        <>
          <nav className="nav">
            {role &&
              LINKS[role].map((link) => (
                <NavLink key={link.to} to={link.to} data-testid={link.testId}>
                  {link.label}
                </NavLink>
              ))}
          </nav>
          <div className="who">
            <span data-testid="user-name">{displayNameOf(signedIn)}</span>
            {role && (
              <span className="role-badge" data-testid="user-role" data-role={role}>
                {role}
              </span>
            )}
            <button
              type="button"
              className="secondary small"
              data-testid="sign-out"
              onClick={() => void leaving.run()}
              disabled={leaving.busy}
            >
              {leaving.busy ? 'Signing out…' : 'Sign out'}
            </button>
          </div>
        </>
      )}
    </header>
  );
}
