// Each session's sandbox runs as its own unprivileged host user: uid (= gid) from a
// range no account uses, so an app that got out of its namespaces would still be
// nobody on the host, owning only its own home — not root, and not another session.
// Inside, every app is uid 1000 "user" as before (bwrap maps it).
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** 2^16 ids from 2 000 000 000 up: above what useradd, systemd-homed and container id maps hand out. */
export const UID_BASE = 2_000_000_000;
export const UID_COUNT = 65_536;

export class SandboxUids {
  private readonly inUse = new Set<number>();

  /**
   * A uid for `key` (a session id): the same on every node where it is free (so a
   * restarted app's home in the shared directory keeps its owner), another free one
   * where it is not.
   */
  take(key: string): number {
    let hash = 2166136261;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619) >>> 0;
    for (let i = 0; i < UID_COUNT; i++) {
      const uid = UID_BASE + ((hash + i) % UID_COUNT);
      if (!this.inUse.has(uid)) {
        this.inUse.add(uid);
        return uid;
      }
    }
    throw new Error(`all ${UID_COUNT} sandbox uids are in use on this node`);
  }

  release(uid: number): void {
    this.inUse.delete(uid);
  }
}

/**
 * Can this node start bwrap as an unprivileged user, on a directory of its own under
 * stateDir/sandboxes? It needs unprivileged user namespaces (Debian allows them; some
 * kernels or AppArmor profiles do not), and every directory above the sandboxes open
 * to others for traversal (o+x; the sandboxes themselves are 0700). Makes stateDir
 * and stateDir/sandboxes 0711. Returns null when it can, else why not: the node then
 * runs every sandbox as root in a user namespace, as before, and says so.
 */
export function unprivilegedSandboxProblem(stateDir: string): string | null {
  if (process.getuid?.() !== 0) return 'the node does not run as root (every sandbox runs as the node\'s own user)';
  const sandboxes = join(stateDir, 'sandboxes');
  mkdirSync(sandboxes, { recursive: true, mode: 0o711 });
  chmodSync(stateDir, 0o711);
  chmodSync(sandboxes, 0o711);
  const dir = join(sandboxes, `uid-probe-${process.pid}`);
  const probe = (bind: boolean) =>
    spawnSync(
      'setpriv',
      ['--reuid', String(UID_BASE), '--regid', String(UID_BASE), '--clear-groups', '--', 'bwrap', '--unshare-all', '--unshare-user', '--uid', '1000', '--gid', '1000', '--ro-bind', '/', '/', ...(bind ? ['--bind', dir, '/tmp'] : []), '--', '/bin/true'],
      { encoding: 'utf8', timeout: 10_000 },
    );
  try {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, UID_BASE, UID_BASE);
    const first = probe(true);
    if (first.status === 0) return null;
    const why = (first.stderr || first.error?.message || `exit ${first.status}`).trim().split('\n')[0];
    if (probe(false).status === 0) return `a directory above ${sandboxes} is closed to other users (${why}); give each o+x (chmod 711)`;
    return `bwrap cannot start as an unprivileged user here (${why}); allow unprivileged user namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, AppArmor)`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
