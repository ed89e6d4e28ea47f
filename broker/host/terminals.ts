// Each sandbox's own terminals (PTYs). Every devpts instance but the host's first
// draws from one pool, kernel.pty.max − kernel.pty.reserve (3072 of 4096 by default),
// and bwrap's --dev mounts one with no cap of its own: one session that opened PTYs
// until refused took the whole pool, and no other session could open one (an XTerm
// could not start). So each sandbox gets a devpts instance capped at its profile's
// maxTerminals, which bwrap binds over /dev/pts (its /dev/ptmx points there).
//
// The sandbox's launcher mounts it, as root before it becomes the session's user, in a
// mount namespace of its own (unshare --mount), which bwrap's namespace is then made
// from. That has two consequences worth having: an instance mounted outside the host's
// initial mount namespace draws from the shared pool, never from the reserve the host
// keeps for its own logins and the node's PTYs; and nothing is ever mounted on the
// host, so nothing is left to unmount after a session, nor after a node killed with -9:
// the instance goes with the last process of its namespace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private mount namespace for the launcher (`unshare` execs the rest: same pid, same parent). */
export const OWN_MOUNT_NAMESPACE = ['unshare', '--mount', '--propagation', 'private', '--'];

/**
 * Options of a sandbox's devpts, but its cap (`max=N`): a new instance; ptmx usable by
 * the sandbox's user, whose host uid owns the PTYs it opens (mode 0620, group its own gid).
 */
export const DEVPTS_OPTIONS = 'newinstance,ptmxmode=0666,mode=0620,nosuid,noexec';

/**
 * Can this node give each sandbox its own capped devpts? It needs root (mounting in a
 * new mount namespace of the initial user namespace) and a kernel and container that
 * allow a new devpts instance. Tried once at start, in a throwaway namespace. Returns
 * null when it can, else why not: sandboxes then get bwrap's own devpts, uncapped.
 */
export function ownTerminalsProblem(): string | null {
  if (process.getuid?.() !== 0) return 'the node does not run as root';
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-pts-probe-'));
  try {
    const probe = spawnSync(OWN_MOUNT_NAMESPACE[0]!, [...OWN_MOUNT_NAMESPACE.slice(1), 'mount', '-t', 'devpts', '-o', `${DEVPTS_OPTIONS},max=1`, 'devpts', dir], { encoding: 'utf8', timeout: 10_000 });
    if (probe.status === 0) return null;
    return `cannot mount a devpts instance in a new mount namespace (${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0]})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `holdfast status` (TERMINALS) and the start log: what bounds a session's PTYs here. */
export function terminalsSummary(problem: string | null): string {
  return problem === null
    ? 'own devpts per sandbox (maxTerminals)'
    : `shared: bwrap's devpts, no cap per session (a session can take every PTY the host's sandboxes share, kernel.pty.max − kernel.pty.reserve): ${problem}`;
}
