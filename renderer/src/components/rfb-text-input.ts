// Text that comes without key events — an input method's composition, dictation, a
// phone's keyboard, a browser's "insert text" — reaches a GUI app as key presses of its
// characters. Browsers give such text only to an editable element, and noVNC reads keys
// from its canvas, which is not one: before this, that text went nowhere.
//
// So a GUI pane's keyboard focus is a hidden textarea. Its key events are handed on,
// unchanged, to noVNC's canvas — noVNC turns them into RFB key events as before, and a
// key it takes types nothing into the textarea (it cancels the event, so the original is
// cancelled too). While an input method composes, its keys stay with it. Whatever text
// still lands in the textarea — committed by the input method, dictated, inserted — is
// sent as a press and release of each character's keysym (keysymFor), then cleared.
// (A page-wide listener in the capture phase sees both the key and its copy; the copy's
// isTrusted is false. App's escape chord stops the key before it gets here.)
import { keysymsFor } from '../../../shared/protocol/index.js';

const KEYSYM_BACKSPACE = 0xff08;
const KEYSYM_RETURN = 0xff0d;
/** Chrome's keyCode for a key an input method is handling. */
const IME_KEYCODE = 229;

export interface TextInputOptions {
  /** Where noVNC listens for keys (its canvas), or null before it has one. */
  keyTarget(): HTMLElement | null;
  /** Presses and releases one key. */
  key(keysym: number): void;
}

/** Wires `textarea` as a GUI pane's keyboard focus; returns how to unwire it. */
export function catchText(textarea: HTMLTextAreaElement, options: TextInputOptions): () => void {
  let composing = false;

  const forward = (event: KeyboardEvent) => {
    if (composing || event.isComposing || event.keyCode === IME_KEYCODE) return;
    const target = options.keyTarget();
    if (!target) return;
    const copy = new KeyboardEvent(event.type, {
      key: event.key,
      code: event.code,
      location: event.location,
      repeat: event.repeat,
      ctrlKey: event.ctrlKey,
      shiftKey: event.shiftKey,
      altKey: event.altKey,
      metaKey: event.metaKey,
      modifierAltGraph: event.getModifierState('AltGraph'),
      modifierCapsLock: event.getModifierState('CapsLock'),
      modifierNumLock: event.getModifierState('NumLock'),
      keyCode: event.keyCode,
      charCode: event.charCode,
      which: event.which,
      bubbles: true,
      cancelable: true,
    });
    target.dispatchEvent(copy);
    // noVNC took the key: it must neither type into the textarea nor reach the page (as when noVNC had the focus).
    if (copy.defaultPrevented) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const send = () => {
    const text = textarea.value;
    textarea.value = '';
    for (const keysym of keysymsFor(text)) options.key(keysym);
  };

  // Edits with no text and no key noVNC could read (a phone keyboard's Backspace and Enter arrive this way).
  const beforeInput = (event: InputEvent) => {
    if (composing || event.isComposing || textarea.value.length > 0) return;
    const keysym = event.inputType === 'deleteContentBackward' ? KEYSYM_BACKSPACE : event.inputType === 'insertLineBreak' || event.inputType === 'insertParagraph' ? KEYSYM_RETURN : null;
    if (keysym === null) return;
    event.preventDefault();
    options.key(keysym);
  };
  const input = (event: Event) => {
    if (composing || (event as InputEvent).isComposing) return;
    send();
  };
  const compositionStart = () => {
    composing = true;
  };
  const compositionEnd = () => {
    composing = false;
    send();
  };

  textarea.addEventListener('keydown', forward);
  textarea.addEventListener('keyup', forward);
  textarea.addEventListener('beforeinput', beforeInput);
  textarea.addEventListener('input', input);
  textarea.addEventListener('compositionstart', compositionStart);
  textarea.addEventListener('compositionend', compositionEnd);
  return () => {
    textarea.removeEventListener('keydown', forward);
    textarea.removeEventListener('keyup', forward);
    textarea.removeEventListener('beforeinput', beforeInput);
    textarea.removeEventListener('input', input);
    textarea.removeEventListener('compositionstart', compositionStart);
    textarea.removeEventListener('compositionend', compositionEnd);
  };
}
