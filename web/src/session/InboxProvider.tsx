/**
 * The in-app inbox of the signed-in user, listened to once for the whole app: it feeds the Inbox
 * panels and raises a toast for each notification that arrives while the page is open (from the
 * inbox listener everywhere, and from foreground push messages where FCM works).
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import type { MessagePayload } from 'firebase/messaging';
import { listenWhenLoaded, loadQueries, loadWrites } from '../data';
import type { InboxNotification } from '../model';
import { onForegroundMessage } from '../push';
import { useAuth } from './AuthProvider';
import { useToast, type ToastMessage } from './Toasts';

interface InboxContextValue {
  items: InboxNotification[];
  loading: boolean;
  error: string | null;
  unreadCount: number;
  markRead(ids: string[]): Promise<void>;
}

const InboxContext = createContext<InboxContextValue | null>(null);

function toastKey(data: Record<string, string> | undefined, fallback: string): string {
  return data?.type && data.requestId ? `${data.type}:${data.requestId}` : fallback;
}

function toastFromNotification(item: InboxNotification): ToastMessage {
  return {
    key: toastKey(item.data, `inbox:${item.id}`),
    title: item.title,
    body: item.body,
    url: item.data?.url,
  };
}

function toastFromPush(payload: MessagePayload): ToastMessage | null {
  const data = payload.data;
  const title = data?.title ?? payload.notification?.title;
  if (!title) return null;
  return {
    key: toastKey(data, `push:${payload.messageId}`),
    title,
    body: data?.body ?? payload.notification?.body ?? '',
    url: data?.url,
  };
}

export function InboxProvider({ children }: { children: ReactNode }) {
  const { state } = useAuth();
  const uid = state.status === 'signedIn' ? state.user.uid : null;
  const toast = useToast();
  const [items, setItems] = useState<InboxNotification[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setItems([]);
    setError(null);
    setLoading(true);
    if (!uid) return undefined;
    const failed = (err: Error) => {
      setError(`The inbox could not be loaded (${err.message}).`);
      setLoading(false);
    };
    const stopInbox = listenWhenLoaded(
      loadQueries().then(({ watchInbox }) =>
        watchInbox(
          uid,
          ({ items: next, arrived }) => {
            setItems(next);
            setLoading(false);
            arrived.forEach((item) => toast(toastFromNotification(item)));
          },
          failed,
        ),
      ),
      failed,
    );
    const stopPush = onForegroundMessage((payload) => {
      const message = toastFromPush(payload);
      if (message) toast(message);
    });
    return () => {
      stopInbox();
      stopPush();
    };
  }, [uid, toast]);

  const markRead = useCallback(
    async (ids: string[]) => {
      if (!uid) return;
      const { markNotificationsRead } = await loadWrites();
      await markNotificationsRead(uid, ids);
    },
    [uid],
  );

  const value = useMemo(
    () => ({
      items,
      loading,
      error,
      unreadCount: items.filter((item) => !item.readAt).length,
      markRead,
    }),
    [items, loading, error, markRead],
  );
  return <InboxContext.Provider value={value}>{children}</InboxContext.Provider>;
}

export function useInbox(): InboxContextValue {
  const value = useContext(InboxContext);
  if (!value) throw new Error('useInbox outside InboxProvider');
  return value;
}
