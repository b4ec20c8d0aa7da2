/**
 * The one app: providers, header, and the routes of CONTRACT.md "Pages". Each role's pages sit
 * under one RequireRole layout route. Only the sign-in page is in the entry; every other page is
 * a chunk of its own (with Firestore and Functions as its imports), loaded when its route opens.
 */
import { lazy, type ComponentType } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router';
import { Header } from './components/Header';
import { RequireRole } from './components/RequireRole';
import { RouteEffects } from './components/RouteEffects';
import { NotFoundPage } from './pages/NotFoundPage';
import { SignInPage } from './pages/SignInPage';
import { AuthProvider } from './session/AuthProvider';
import { InboxProvider } from './session/InboxProvider';
import { ToastProvider } from './session/Toasts';

const RELOADED_FOR = 'homepro:reloaded-for-missing-chunk';

/**
 * A page exported by name from a module that is loaded on first render. A tab open across a
 * deploy asks for chunks that are gone: it reloads once to get the new version, and a second
 * failure shows the page error (PageErrorBoundary).
 */
function lazyPage<Name extends string>(
  load: () => Promise<Record<Name, ComponentType>>,
  name: Name,
) {
  return lazy(async (): Promise<{ default: ComponentType }> => {
    try {
      const page = (await load())[name];
      sessionStorage.removeItem(RELOADED_FOR);
      return { default: page };
    } catch (error) {
      if (sessionStorage.getItem(RELOADED_FOR) !== window.location.pathname) {
        sessionStorage.setItem(RELOADED_FOR, window.location.pathname);
        window.location.reload();
        return new Promise<never>(() => {}); // the reload replaces the page
      }
      throw error;
    }
  });
}

const CustomerRequestPage = lazyPage(
  () => import('./pages/CustomerRequestPage'),
  'CustomerRequestPage',
);
const RequestStatusPage = lazyPage(() => import('./pages/RequestStatusPage'), 'RequestStatusPage');
const HelperDashboardPage = lazyPage(
  () => import('./pages/HelperDashboardPage'),
  'HelperDashboardPage',
);
const HelperJobPage = lazyPage(() => import('./pages/HelperJobPage'), 'HelperJobPage');
const HelperSettingsPage = lazyPage(
  () => import('./pages/HelperSettingsPage'),
  'HelperSettingsPage',
);
const AdminPage = lazyPage(() => import('./admin/AdminPage'), 'AdminPage');

export function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <ToastProvider>
          <InboxProvider>
            <RouteEffects />
            <Header />
            <main className="main">
              <Routes>
                <Route path="/" element={<SignInPage />} />
                <Route element={<RequireRole role="customer" />}>
                  <Route path="/customer/request" element={<CustomerRequestPage />} />
                  <Route path="/customer/request/:id/status" element={<RequestStatusPage />} />
                </Route>
                <Route element={<RequireRole role="helper" />}>
                  <Route path="/helper/dashboard" element={<HelperDashboardPage />} />
                  <Route path="/helper/job/:id" element={<HelperJobPage />} />
                  <Route path="/helper/settings" element={<HelperSettingsPage />} />
                </Route>
                <Route element={<RequireRole role="admin" />}>
                  <Route path="/admin" element={<AdminPage />} />
                </Route>
                <Route path="*" element={<NotFoundPage />} />
              </Routes>
            </main>
          </InboxProvider>
        </ToastProvider>
      </AuthProvider>
    </BrowserRouter>
  );
}
