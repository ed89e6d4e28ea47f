// The keystroke-echo loops: one byte typed at a time, the next as soon as its echo is
// back, timed in µs — into a terminal (node-pty: a floor or `holdfast connect`) or
// through the bench's protocol client. Parts 3, 9 and 11 measure with these.
import type { ProtoSession } from './protocol-client.js';
import type { Pty } from './clients.js';
import { nowNs, withTimeout } from './timing.js';

/**
 * Types one byte at a time into `h` and times until that byte comes back. The apps
 * are `cat` behind a PTY in canonical mode, so the echo is the app PTY's line
 * discipline. Every 64 bytes a CR ends the line (untimed) so the line never fills.
 */
export async function echoRun(h: Pty, count: number, samples?: number[]): Promise<void> {
  let line = '';
  for (let i = 0; i < count; i++) {
    const byte = 97 + (i % 26);
    const ch = String.fromCharCode(byte);
    const us = await withTimeout(
      new Promise<number>((resolve) => {
        let t0 = 0n;
        h.listener = (data) => {
          if (data.includes(byte)) {
            const t1 = nowNs();
            h.listener = null;
            resolve(Number(t1 - t0) / 1000);
          }
        };
        t0 = nowNs();
        h.term.write(ch);
      }),
      5000,
      `echo of ${JSON.stringify(ch)}`,
    );
    samples?.push(us);
    line += ch;
    if (line.length >= 64) {
      let seen = '';
      const done = new RegExp(`${line}\\r+\\n$`);
      await withTimeout(
        new Promise<void>((resolve) => {
          h.listener = (data) => {
            seen += data.toString('latin1');
            if (done.test(seen)) {
              h.listener = null;
              resolve();
            }
          };
          h.term.write('\r');
        }),
        5000,
        'line flush',
      );
      line = '';
    }
  }
}

/**
 * The same loop over the bench's own protocol client: broker + sandbox, no CLI, no
 * client PTY. With `pace`, `gapMs` between a keystroke's echo and the next (a person's
 * pace), and ending early, its line flushed, once `stop()` says so.
 */
export async function echoRunProto(s: ProtoSession, count: number, samples?: number[], pace?: { gapMs: number; stop: () => boolean }): Promise<void> {
  let line = '';
  for (let i = 0; i < count; i++) {
    const byte = 97 + (i % 26);
    const us = await withTimeout(
      new Promise<number>((resolve) => {
        let t0 = 0n;
        s.onData = (data) => {
          if (data.includes(byte)) {
            const t1 = nowNs();
            s.onData = null;
            resolve(Number(t1 - t0) / 1000);
          }
        };
        t0 = nowNs();
        s.input(Buffer.of(byte));
      }),
      5000,
      'protocol echo',
    );
    samples?.push(us);
    if (pace) await new Promise((resolve) => setTimeout(resolve, pace.gapMs));
    line += String.fromCharCode(byte);
    const stopping = pace?.stop() ?? false;
    if (line.length >= 64 || stopping) {
      let seen = '';
      const done = new RegExp(`${line}\\r+\\n$`);
      await withTimeout(
        new Promise<void>((resolve) => {
          s.onData = (data) => {
            seen += data.toString('latin1');
            if (done.test(seen)) {
              s.onData = null;
              resolve();
            }
          };
          s.input(Buffer.from('\r'));
        }),
        5000,
        'protocol line flush',
      );
      line = '';
    }
    if (stopping) return;
  }
}
