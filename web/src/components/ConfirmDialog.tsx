/** A modal confirmation: a question, a consequence, confirm and keep buttons. */
import { useEffect, useRef, type ReactNode } from 'react';
import { ErrorNote } from './Feedback';

interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  keepLabel: string;
  busy: boolean;
  error: string | null;
  testId: string;
  confirmTestId: string;
  keepTestId: string;
  onConfirm: () => void;
  onKeep: () => void;
}

export function ConfirmDialog(props: ConfirmDialogProps) {
  const keepButton = useRef<HTMLButtonElement>(null);
  const { onKeep, busy } = props;
  useEffect(() => {
    keepButton.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !busy) onKeep();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onKeep, busy]);

  return (
    <div className="overlay">
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${props.testId}-title`}
        data-testid={props.testId}
      >
        <h2 id={`${props.testId}-title`}>{props.title}</h2>
        <div data-testid={`${props.testId}-text`}>{props.children}</div>
        <ErrorNote message={props.error} testId={`${props.testId}-error`} />
        <div className="actions">
          <button
            type="button"
            className="danger"
            data-testid={props.confirmTestId}
            disabled={busy}
            onClick={props.onConfirm}
          >
            {busy ? 'Working…' : props.confirmLabel}
          </button>
          <button
            type="button"
            className="secondary"
            ref={keepButton}
            data-testid={props.keepTestId}
            disabled={busy}
            onClick={onKeep}
          >
            {props.keepLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
