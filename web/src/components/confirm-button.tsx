import { useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api';

/**
 * A destructive action behind a confirmation dialog (a native <dialog>:
 * focus moves into it and Escape closes it). Errors from the action are shown in the dialog.
 */
export function ConfirmButton({ label, title, children, confirmLabel, onConfirm, className }: { label: string; title: string; children: ReactNode; confirmLabel: string; onConfirm: () => Promise<void>; className?: string }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const open = () => {
    setError('');
    dialog.current?.showModal();
  };
  const confirm = async () => {
    setBusy(true);
    setError('');
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className={className ?? 'small danger'} onClick={open}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={`${title}-title`.replace(/\W+/g, '-')}>
        <h2 id={`${title}-title`.replace(/\W+/g, '-')}>{title}</h2>
        {children}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={() => dialog.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="danger" onClick={() => void confirm()} disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
