// A question that needs an answer before anything happens (ending a session loses its
// unsaved work): a modal <dialog>, so focus stays in it, Escape cancels, and the page
// behind is inert. The first safe choice (else Cancel) has focus, so Enter never
// destroys anything by accident.
import { useEffect, useRef } from 'react';

export interface Choice {
  label: string;
  onChoose: () => void;
  /** Drawn as the dangerous one (red). */
  danger?: boolean;
}

/** `cancel`: the Cancel button's label; null when a choice already is the way out (Escape still calls onCancel). */
export function ConfirmDialog({ title, message, choices, onCancel, cancel = 'Cancel' }: { title: string; message: string; choices: Choice[]; onCancel: () => void; cancel?: string | null }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    // showModal focuses the first button it finds: move focus to the safe choice.
    element?.querySelector<HTMLButtonElement>('[data-first]')?.focus();
    return () => element?.close();
  }, []);
  const safe = choices.findIndex((choice) => !choice.danger);
  return (
    <dialog ref={dialog} className="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-message" onCancel={(event) => (event.preventDefault(), onCancel())}>
      <h2 id="confirm-title">{title}</h2>
      <p id="confirm-message">{message}</p>
      <div className="confirm-choices">
        {choices.map((choice, index) => (
          <button key={choice.label} className={choice.danger ? 'danger' : index === safe ? 'primary' : ''} data-first={index === safe ? '' : undefined} onClick={choice.onChoose}>
            {choice.label}
          </button>
        ))}
        {cancel !== null && (
          <button data-first={safe === -1 ? '' : undefined} onClick={onCancel}>
            {cancel}
          </button>
        )}
      </div>
    </dialog>
  );
}
