// Reliable end of output. On this kernel a PTY master can report EOF while the last
// bytes an app wrote are still in flight inside the kernel, and they are lost. So the
// app does not run bare: a tiny wrapper inside the sandbox runs it, then writes an
// exit marker (an OSC sequence carrying a per-session nonce and the exit status) to
// the same PTY and waits. Output arrives in order, so once the host has read the
// marker it has read everything before it; only then is the sandbox torn down.
// The filter strips the marker from the stream so a person never sees it.

const OSC = '\x1b]7777;';
const BEL = 0x07;
/** Longest exit-status text we accept after the nonce ("255;" and room to spare). */
const MAX_STATUS = 8;

/**
 * The sandbox's init: process 1 inside it (bwrap --as-pid-1), run as
 * `/bin/bash /run/holdfast-init CMD ARGS…` from a file holding initScript(nonce), so
 * what the app's `ps` or htop shows is one short line, then the app as process 2.
 * `set -m` runs the app as a job in its own process group and hands it the terminal,
 * so the signals a person types (Ctrl-C, Ctrl-\\) reach the app and not bwrap, which
 * would die of them and take the sandbox along. `trap :` (a handler, reset on exec,
 * unlike an ignore) keeps the wrapper alive through them too. An app stopped with
 * Ctrl-Z has no shell to return to, so it is resumed at once (bash notes "Stopped").
 */
const WRAPPER = [
  'set -m; trap : INT QUIT',
  '"$@"; s=$?',
  'while jobs %% >/dev/null 2>&1; do fg >/dev/null 2>&1; s=$?; done',
  `printf '\\033]7777;%s;%d\\007' "$n" "$s"`,
  // Keep the terminal open until the host has read the marker and kills the sandbox —
  // but no longer than the terminal lives: once the node's end of the PTY has closed,
  // stdin is no longer a terminal and the sandbox ends within a second. That covers a
  // sandbox whose --die-with-parent never took hold (its node died while it started).
  'while [ -t 0 ]; do sleep 1; done',
].join('; ');

/** The init's script for one sandbox: its nonce is written in (base64url: nothing to quote). */
export function initScript(nonce: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(nonce)) throw new Error('an exit nonce is base64url');
  return `n='${nonce}'; ${WRAPPER}\n`;
}

export class ExitMarkerFilter {
  private readonly prefix: Buffer;
  private carry: Buffer | null = null;
  done = false;

  constructor(readonly nonce: string) {
    this.prefix = Buffer.from(`${OSC}${nonce};`);
  }

  /**
   * Feeds a chunk; returns the bytes to show, and the exit status once the marker is
   * complete. A chunk ending in a partial marker keeps that tail back until the next
   * chunk (`pending()` says how many bytes are held).
   */
  push(chunk: Buffer): { output: Buffer; status: number | null } {
    if (this.done) return { output: EMPTY, status: null };
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    const at = data.indexOf(this.prefix);
    if (at >= 0) {
      const end = data.indexOf(BEL, at + this.prefix.length);
      if (end < 0) {
        if (data.length - at - this.prefix.length > MAX_STATUS) return { output: data, status: null };
        this.carry = data.subarray(at);
        return { output: data.subarray(0, at), status: null };
      }
      const status = Number(data.subarray(at + this.prefix.length, end).toString('latin1'));
      if (!Number.isInteger(status)) return { output: data, status: null };
      this.done = true;
      return { output: data.subarray(0, at), status };
    }
    const keep = partialPrefixAtEnd(data, this.prefix);
    if (keep > 0) {
      this.carry = Buffer.from(data.subarray(data.length - keep));
      return { output: data.subarray(0, data.length - keep), status: null };
    }
    return { output: data, status: null };
  }

  /** Gives back a held tail that turned out not to be a marker. */
  flush(): Buffer {
    const carry = this.carry ?? EMPTY;
    this.carry = null;
    return carry;
  }

  pending(): number {
    return this.carry?.length ?? 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Length of the longest suffix of `data` that is a proper prefix of `prefix`. */
function partialPrefixAtEnd(data: Buffer, prefix: Buffer): number {
  const from = Math.max(0, data.length - prefix.length + 1);
  // Only an ESC can start the marker: find the last one in the window.
  let esc = data.lastIndexOf(0x1b);
  while (esc >= from) {
    const tail = data.subarray(esc);
    if (prefix.subarray(0, tail.length).equals(tail)) return tail.length;
    esc = esc > 0 ? data.lastIndexOf(0x1b, esc - 1) : -1;
  }
  return 0;
}
