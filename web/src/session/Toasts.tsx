/** Toasts: short-lived notices for notifications that arrive while the page is open. */
import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';

export interface ToastMessage {
  /** Same key within DEDUPE_MS shows once (a push and its inbox document are one notice). */
  key: string;
  title: string;
  body: string;
  url?: string;
}

interface ShownToast extends ToastMessage {
  id: number;
}

const TOAST_MS = 12_000;
const DEDUPE_MS = 30_000;

const ToastContext = createContext<(toast: ToastMessage) => void>(() => undefined);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<ShownToast[]>([]);
  const recent = useRef(new Map<string, number>());
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => {
    setToasts((current) => current.filter((toast) => toast.id !== id));
  }, []);

  const show = useCallback(
    (toast: ToastMessage) => {
      const now = Date.now();
      for (const [key, at] of recent.current) if (now - at > DEDUPE_MS) recent.current.delete(key);
      if (recent.current.has(toast.key)) return;
      recent.current.set(toast.key, now);
      const id = nextId.current++;
      setToasts((current) => [...current.slice(-2), { ...toast, id }]);
      window.setTimeout(() => dismiss(id), TOAST_MS);
    },
    [dismiss],
  );

  return (
    <ToastContext.Provider value={show}>
      {children}
      <div className="toasts" aria-live="polite">
        {toasts.map((toast) => (
          <Toast key={toast.id} toast={toast} onClose={() => dismiss(toast.id)} />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

function Toast({ toast, onClose }: { toast: ShownToast; onClose: () => void }) {
  return (
    <div className="toast" role="status" data-testid="toast" data-key={toast.key}>
      <div className="toast-text">
        <strong data-testid="toast-title">{toast.title}</strong>
        <span data-testid="toast-body">{toast.body}</span>
      </div>
      <div className="toast-actions">
        {toast.url && (
          <Link to={toast.url} onClick={onClose} data-testid="toast-view">
            View
          </Link>
        )}
        <button type="button" className="link" onClick={onClose} aria-label="Dismiss">
          ✕
        </button>
      </div>
    </div>
  );
}

export function useToast(): (toast: ToastMessage) => void {
  return useContext(ToastContext);
}
