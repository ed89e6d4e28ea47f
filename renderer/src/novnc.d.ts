// The part of noVNC's RFB API this client uses (docs/API.md of @novnc/novnc 1.7).
declare module '@novnc/novnc' {
  export interface RfbChannel {
    binaryType: string;
    protocol: string;
    readyState: number | string;
    onopen: ((event: unknown) => void) | null;
    onmessage: ((event: { data: ArrayBuffer }) => void) | null;
    onerror: ((event: unknown) => void) | null;
    onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
    send(data: ArrayBuffer | ArrayBufferView): void;
    close(): void;
  }

  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: string | RfbChannel, options?: { shared?: boolean });
    /** No keys, pointer or clipboard from this viewer (someone watching a shared session). */
    viewOnly: boolean;
    resizeSession: boolean;
    scaleViewport: boolean;
    /** Keys and the pointer are not sent (a recording's player). */
    viewOnly: boolean;
    focusOnClick: boolean;
    background: string;
    qualityLevel: number;
    compressionLevel: number;
    disconnect(): void;
    focus(options?: FocusOptions): void;
    clipboardPasteFrom(text: string): void;
    /** One key: pressed and released when `down` is left out; `code` (a KeyboardEvent.code) or null for a keysym alone. */
    sendKey(keysym: number, code: string | null, down?: boolean): void;
  }
}
