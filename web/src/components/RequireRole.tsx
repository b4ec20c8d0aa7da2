/** A page for one role: others are sent to their own home, signed-out visitors to sign in. */
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from '../session/AuthProvider';
import { homePathFor, type Role } from '../model';
import { Loading, NoRole } from './Feedback';

export function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'signedOut') {
    return <Navigate to="/" replace state={{ from: location.pathname + location.search }} />;
  }
  if (!state.role) return <NoRole />;
  if (state.role !== role) return <Navigate to={homePathFor(state.role)} replace />;
  return <>{children}</>;
}
