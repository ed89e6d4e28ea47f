// Process bookkeeping: everything the bench starts (nodes, CLI clients, floors, and
// through the nodes the sandboxes) is tracked and ended — on success, on error, on
// SIGINT/SIGTERM/SIGHUP and when the overall watchdog fires.
import { rmSync } from 'node:fs';
import { descendants, procStat } from './proc.js';
import { sleep } from './timing.js';

type Kill = (signal: NodeJS.Signals) => void;
const tracked = new Map<number, { label: string; kill: Kill; starttime: number | undefined }>();
export function track(pid: number, label: string, kill: Kill): void {
  tracked.set(pid, { label, kill, starttime: procStat(pid)?.starttime });
}
export function untrack(pid: number): void {
  tracked.delete(pid);
}
/** Sandboxes and helpers seen under our nodes, so stragglers can be found after a node dies. */
export const seenDescendants = new Map<number, number>(); // pid -> starttime
export function noteDescendants(root: number): void {
  for (const d of descendants(root)) seenDescendants.set(d.pid, d.starttime);
}

function stillSame(pid: number, starttime: number | undefined): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && (starttime === undefined || s.starttime === starttime);
}

function killHard(pid: number, starttime: number | undefined): boolean {
  if (!stillSame(pid, starttime)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

export interface Cleanup {
  killedHard: number;
  leftover: number;
}
let cleaningUp: Promise<Cleanup> | null = null;
export async function cleanupAll(): Promise<Cleanup> {
  cleaningUp ??= (async () => {
    for (const [pid] of tracked) noteDescendants(pid);
    // Nodes get SIGTERM first so they end their sessions the normal way.
    for (const t of tracked.values()) {
      try {
        t.kill('SIGTERM');
      } catch {
        /* gone */
      }
    }
    const t0 = Date.now();
    while (Date.now() - t0 < 3000 && [...tracked].some(([pid, t]) => stillSame(pid, t.starttime))) await sleep(20);
    let killed = 0;
    for (const [pid, t] of tracked) if (killHard(pid, t.starttime)) killed += 1;
    await sleep(100);
    for (const [pid, start] of seenDescendants) if (killHard(pid, start)) killed += 1;
    await sleep(100);
    const left = [...tracked].filter(([pid, t]) => stillSame(pid, t.starttime)).length + [...seenDescendants].filter(([pid, start]) => stillSame(pid, start)).length;
    return { killedHard: killed, leftover: left };
  })();
  return cleaningUp;
}

let removeOnExit: string | null = null;
/** A directory removed when this process exits, however it exits. */
export function removeAtExit(dir: string): void {
  removeOnExit = dir;
}

/** Ends every tracked process at exit and on a signal (130 after a signal). */
export function cleanUpAtExit(): void {
  process.on('exit', () => {
    if (removeOnExit) rmSync(removeOnExit, { recursive: true, force: true });
    for (const [pid, t] of tracked) killHard(pid, t.starttime);
    for (const [pid, start] of seenDescendants) killHard(pid, start);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}; cleaning up\n`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}
