// A file a sandbox command has open, opened again by the node through /proc: the
// command (dd, as the sandbox's user, in the sandbox's view, O_NOFOLLOW) resolved the
// path and was allowed to read it; the node then reads the same inode itself — in
// large blocks, on libuv's threads — rather than through the command's pipe, a 64 KiB
// read at a time on its event loop. Only a regular file with the inode and size the
// sandbox's stat saw is taken; anything else (not root, the file swapped meanwhile, the
// command gone) is null, and the caller reads the pipe as before.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/** The version home-paths.ts gives a file (size-time-inode) → its inode and size. */
function expected(version: string): { size: number; inode: string } | null {
  const m = /^([0-9a-z]+)-[0-9]+-([0-9]+)$/.exec(version);
  return m ? { size: parseInt(m[1]!, 36), inode: m[2]! } : null;
}

/** The node's own descriptor for what process `pid` has open as `fd`, if it is the file `version` names; else null. */
export function openFileOf(pid: number, fd: number, version: string, proc = '/proc'): number | null {
  const want = expected(version);
  if (!want) return null;
  let mine: number;
  try {
    mine = openSync(`${proc}/${pid}/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(mine, { bigint: true });
    if (stat.isFile() && String(stat.ino) === want.inode && Number(stat.size) === want.size) return mine;
  } catch {
    /* not taken */
  }
  closeSync(mine);
  return null;
}
