// Which host process is a sandbox's init — process 1 inside it (exit-marker.ts), the
// one whose namespaces the node enters to act in the sandbox's view (home-files.ts). It
// is found under the launcher the node started, by its command line; the shallowest
// match, so never an app's own copy of the same command line further down.
import { readFileSync, readdirSync } from 'node:fs';
import { INIT_PATH } from './sandbox.js';

const INIT_COMMAND = `/bin/bash\0${INIT_PATH}\0`;

/** The sandbox's init under `launcher` (breadth first: the shallowest, so never an app's copy of it); null while it is not there yet. */
export function findInit(proc: string, launcher: number): number | null {
  let level = [launcher];
  let seen = 0;
  for (let depth = 0; depth < 8 && level.length > 0 && seen < 256; depth++) {
    for (const pid of level) if (commandOf(proc, pid)?.startsWith(INIT_COMMAND)) return pid;
    seen += level.length;
    level = level.flatMap((pid) => childrenOf(proc, pid));
  }
  return null;
}

/** Is `pid` still the sandbox's init under `launcher`? */
export function isInitOf(proc: string, pid: number, launcher: number): boolean {
  if (!commandOf(proc, pid)?.startsWith(INIT_COMMAND)) return false;
  let at: number | null = pid;
  for (let i = 0; i < 8 && at !== null; i++) {
    if (at === launcher) return true;
    at = parentOf(proc, at);
  }
  return false;
}

function commandOf(proc: string, pid: number): string | null {
  try {
    return readFileSync(`${proc}/${pid}/cmdline`, 'latin1');
  } catch {
    return null;
  }
}

function childrenOf(proc: string, pid: number): number[] {
  try {
    return readdirSync(`${proc}/${pid}/task`).flatMap((task) =>
      readFileSync(`${proc}/${pid}/task/${task}/children`, 'latin1')
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

function parentOf(proc: string, pid: number): number | null {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, 'latin1');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(parent) && parent > 0 ? parent : null;
  } catch {
    return null;
  }
}
