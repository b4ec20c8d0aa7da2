/**
 * The layout route of one role's pages: others are sent to their own home, signed-out visitors
 * to sign in; the page itself (often a lazily loaded chunk) renders in the Outlet.
 */
import { Suspense } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { useAuth } from '../session/AuthProvider';
import { homePathFor, type Role } from '../model';
import { Loading, NoRole } from './Feedback';
import { PageErrorBoundary } from './PageErrorBoundary';

export function RequireRole({ role }: { role: Role }) {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'signedOut') {
    return <Navigate to="/" replace state={{ from: location.pathname + location.search }} />;
  }
  if (!state.role) return <NoRole />;
  if (state.role !== role) return <Navigate to={homePathFor(state.role)} replace />;
  return (
    <PageErrorBoundary key={location.pathname}>
      <Suspense fallback={<Loading />}>
        <Outlet />
      </Suspense>
    </PageErrorBoundary>
  );
}
