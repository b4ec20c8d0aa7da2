/**
 * App-wide effects of navigation: a page_view per route change, notification_opened when the
 * service worker opened or focused the app from a notification (`?from=notification`, or its
 * postMessage), and registering the service worker where a push can come (a helper's pages, or
 * wherever notifications are allowed).
 */
import { useEffect } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { track } from '../analytics';
import { notificationsGranted, registerServiceWorker } from '../push';
import { useAuth } from '../session/AuthProvider';

const FROM_PARAM = 'from';
const FROM_NOTIFICATION = 'notification';
const TYPE_PARAM = 'type';
export const NAVIGATE_MESSAGE = 'homepro:navigate';

/** The request a path is about (`/customer/request/{id}/status`, `/helper/job/{id}`). */
function requestIdOf(path: string): string | undefined {
  const match = /^\/(?:customer\/request\/([^/]+)\/status|helper\/job\/([^/]+))\/?$/.exec(path);
  return match ? decodeURIComponent(match[1] ?? match[2] ?? '') || undefined : undefined;
}

export function RouteEffects() {
  const { state } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const uid = state.status === 'signedIn' ? state.user.uid : null;
  const role = state.status === 'signedIn' ? state.role : null;

  // Only helpers turn push on; anyone else gets a push only where notifications are allowed.
  useEffect(() => {
    if (role === 'helper' || notificationsGranted()) void registerServiceWorker();
  }, [role]);

  // The service worker asks a focused window to go somewhere (when it cannot navigate it).
  useEffect(() => {
    if (!('serviceWorker' in navigator)) return undefined;
    const onMessage = (event: MessageEvent) => {
      const message = event.data as { kind?: unknown; url?: unknown } | null;
      if (message?.kind !== NAVIGATE_MESSAGE || typeof message.url !== 'string') return;
      const target = new URL(message.url, window.location.origin);
      if (target.origin !== window.location.origin) return;
      navigate(target.pathname + target.search + target.hash);
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
    return () => navigator.serviceWorker.removeEventListener('message', onMessage);
  }, [navigate]);

  useEffect(() => {
    if (!uid) return;
    track('page_view', {
      requestId: requestIdOf(location.pathname),
      metadata: { path: location.pathname },
    });
  }, [uid, location.pathname]);

  useEffect(() => {
    if (!uid) return;
    const params = new URLSearchParams(location.search);
    if (params.get(FROM_PARAM) !== FROM_NOTIFICATION) return;
    track('notification_opened', {
      requestId: requestIdOf(location.pathname),
      metadata: { path: location.pathname, notificationType: params.get(TYPE_PARAM) },
    });
    params.delete(FROM_PARAM);
    params.delete(TYPE_PARAM);
    const search = params.toString();
    navigate(
      { pathname: location.pathname, search: search ? `?${search}` : '', hash: location.hash },
      { replace: true, state: location.state },
    );
  }, [uid, location, navigate]);

  return null;
}
