// The slice of the WebSocket API that both the browser's WebSocket and the `ws`
// package provide. The session core talks to sockets only through this, so the same
// code runs in the renderer, the Electron main process and the CLI.

export interface SocketMessageEvent {
  data: unknown;
}
export interface SocketCloseEvent {
  code: number;
  reason: string;
}

export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: SocketMessageEvent) => void) | null;
  onclose: ((event: SocketCloseEvent) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export const SocketState = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

/** Normalises whatever a socket delivers for a binary frame into a Uint8Array. */
export function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data) && data.every((part) => part instanceof Uint8Array)) {
    const total = data.reduce((sum: number, part: Uint8Array) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of data as Uint8Array[]) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
  return null;
}
