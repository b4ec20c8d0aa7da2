/** The one app: providers, header, and the routes of CONTRACT.md "Pages". */
import { BrowserRouter, Route, Routes } from 'react-router';
import { Header } from './components/Header';
import { RequireRole } from './components/RequireRole';
import { RouteEffects } from './components/RouteEffects';
import { AdminPage } from './admin/AdminPage';
import { CustomerRequestPage } from './pages/CustomerRequestPage';
import { HelperDashboardPage } from './pages/HelperDashboardPage';
import { HelperJobPage } from './pages/HelperJobPage';
import { HelperSettingsPage } from './pages/HelperSettingsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RequestStatusPage } from './pages/RequestStatusPage';
import { SignInPage } from './pages/SignInPage';
import { AuthProvider } from './session/AuthProvider';
import { InboxProvider } from './session/InboxProvider';
import { ToastProvider } from './session/Toasts';

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
                <Route
                  path="/customer/request"
                  element={
                    <RequireRole role="customer">
                      <CustomerRequestPage />
                    </RequireRole>
                  }
                />
                <Route
                  path="/customer/request/:id/status"
                  element={
                    <RequireRole role="customer">
                      <RequestStatusPage />
                    </RequireRole>
                  }
                />
                <Route
                  path="/helper/dashboard"
                  element={
                    <RequireRole role="helper">
                      <HelperDashboardPage />
                    </RequireRole>
                  }
                />
                <Route
                  path="/helper/job/:id"
                  element={
                    <RequireRole role="helper">
                      <HelperJobPage />
                    </RequireRole>
                  }
                />
                <Route
                  path="/helper/settings"
                  element={
                    <RequireRole role="helper">
                      <HelperSettingsPage />
                    </RequireRole>
                  }
                />
                <Route
                  path="/admin"
                  element={
                    <RequireRole role="admin">
                      <AdminPage />
                    </RequireRole>
                  }
                />
                <Route path="*" element={<NotFoundPage />} />
              </Routes>
            </main>
          </InboxProvider>
        </ToastProvider>
      </AuthProvider>
    </BrowserRouter>
  );
}
