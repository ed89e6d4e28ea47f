// A GUI pane's keyboard. Its focus is a hidden textarea, for two reasons:
//
//   - Text that comes without key events — an input method's composition, dictation, a
//     phone's keyboard, a browser's "insert text" — reaches the app too. Browsers give
//     such text only to an editable element, and noVNC reads keys from its canvas, which
//     is not one: before the textarea, that text went nowhere.
//   - Keys are translated here (rfb-keys.ts: the character typed under the person's own
//     layout, AltGr, shortcuts) and sent as keysyms alone, not by noVNC, whose key events
//     name US key positions whenever the display offers that, as Xvnc does.
//
// A key the translator takes is cancelled, so it types nothing into the textarea and
// reaches no page shortcut; a dead key, and every key while an input method composes,
// are left to the browser. Whatever text still lands in the textarea — committed by the
// input method, dictated, inserted — is sent as a press and release of each character's
// keysym (keysymFor), then cleared. (The app's escape chord stops its key before it
// gets here.)
import { keysymsFor } from '../../../shared/protocol/index.js';
import { KeyTranslator } from './rfb-keys.js';

const KEYSYM_BACKSPACE = 0xff08;
const KEYSYM_RETURN = 0xff0d;
/** Chrome's keyCode for a key an input method is handling. */
const IME_KEYCODE = 229;

export interface TextInputOptions {
  /** Presses (`down`) or releases one key in the app. */
  key(keysym: number, down: boolean): void;
  /** The person's computer is a Mac (Option types characters there, and Cmd's keys send no release). */
  mac?: boolean;
}

/** Wires `textarea` as a GUI pane's keyboard focus; returns how to unwire it. */
export function catchText(textarea: HTMLTextAreaElement, options: TextInputOptions): () => void {
  let composing = false;

  const keys = new KeyTranslator({ mac: options.mac ?? false });
  const press = (keysym: number) => {
    options.key(keysym, true);
    options.key(keysym, false);
  };

  const translate = (event: KeyboardEvent) => {
    if (composing || event.isComposing || event.keyCode === IME_KEYCODE) return;
    const { keys: sent, handled } = keys.translate({
      type: event.type === 'keydown' ? 'keydown' : 'keyup',
      key: event.key,
      code: event.code,
      location: event.location,
      ctrlKey: event.ctrlKey,
      altKey: event.altKey,
      shiftKey: event.shiftKey,
      metaKey: event.metaKey,
      altGraph: event.getModifierState('AltGraph'),
    });
    for (const { keysym, down } of sent) options.key(keysym, down);
    // Taken: it must neither type into the textarea nor reach the page.
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };
  // The keyboard went elsewhere: every key the app holds is let go, as the person's hands did.
  const blur = () => {
    for (const { keysym, down } of keys.releaseAll()) options.key(keysym, down);
  };

  const send = () => {
    const text = textarea.value;
    textarea.value = '';
    for (const keysym of keysymsFor(text)) press(keysym);
  };

  // Edits with no text and no key noVNC could read (a phone keyboard's Backspace and Enter arrive this way).
  const beforeInput = (event: InputEvent) => {
    if (composing || event.isComposing || textarea.value.length > 0) return;
    const keysym = event.inputType === 'deleteContentBackward' ? KEYSYM_BACKSPACE : event.inputType === 'insertLineBreak' || event.inputType === 'insertParagraph' ? KEYSYM_RETURN : null;
    if (keysym === null) return;
    event.preventDefault();
    press(keysym);
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

  textarea.addEventListener('keydown', translate);
  textarea.addEventListener('keyup', translate);
  textarea.addEventListener('blur', blur);
  textarea.addEventListener('beforeinput', beforeInput);
  textarea.addEventListener('input', input);
  textarea.addEventListener('compositionstart', compositionStart);
  textarea.addEventListener('compositionend', compositionEnd);
  return () => {
    textarea.removeEventListener('keydown', translate);
    textarea.removeEventListener('keyup', translate);
    textarea.removeEventListener('blur', blur);
    textarea.removeEventListener('beforeinput', beforeInput);
    textarea.removeEventListener('input', input);
    textarea.removeEventListener('compositionstart', compositionStart);
    textarea.removeEventListener('compositionend', compositionEnd);
  };
}
