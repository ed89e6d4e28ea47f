// A session's print spool: where its sandbox hands print jobs to the node. Per session,
// under stateDir/print/<session>-<random>/: `jobs` (bound read-write into the sandbox at
// PRINT_JOBS_DIR; the app may create files there but not list them), `bin` (bound
// read-only at PRINT_BIN_DIR, first on the sandbox's PATH: its `lp` and `lpr`), `ipp`
// (bound read-only at /run/cups: the socket of the printer a print dialog sees,
// print-ipp.ts, whose jobs join the others here) and `pdf` (the node's own: the PDFs
// made of the jobs, never seen by the sandbox).
//
// The app controls everything in `jobs`, so the node trusts nothing there: it opens a
// job with O_NOFOLLOW (a link is never followed out to the host's files), reads regular
// files only (a FIFO or device is not even opened: O_NONBLOCK, then fstat), never more
// than MAX_JOB_BYTES, and removes each entry once read. A finished job is `job-<id>`
// (its writer renames it so once complete), with its title in `job-<id>.title`.
import { closeSync, chmodSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmdirSync, rmSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MAX_JOB_BYTES } from './print-convert.js';
import { IPP_SOCKET_NAME, IppPrinter, type IppJob } from './print-ipp.js';

/** Inside the sandbox: where jobs are written, and where its lp and lpr are. */
export const PRINT_JOBS_DIR = '/run/holdfast-print/jobs';
export const PRINT_BIN_DIR = '/run/holdfast-print/bin';
/**
 * Inside the sandbox, from `bin`: a login shell (the demo's Shell runs `bash -l`) sets
 * PATH afresh in /etc/profile, which then reads /etc/profile.d/*.sh — this puts lp and
 * lpr first again.
 */
export const PRINT_PROFILE = '/etc/profile.d/holdfast-print.sh';
export const PRINT_PROFILE_FILE = 'profile.sh';
const PROFILE_SCRIPT = `case ":$PATH:" in *:${PRINT_BIN_DIR}:*) ;; *) PATH="${PRINT_BIN_DIR}:$PATH"; export PATH ;; esac
`;

const JOB = /^job-[A-Za-z0-9._-]{1,64}$/;
/** A job's title: at most this many bytes are read. */
const MAX_TITLE = 256;

/**
 * `lp [-d P] [-n N] [-t TITLE] [-o OPT]… [FILE…]` and `lpr [-P P] [-# N] [-J|-T TITLE] [-o OPT]… [FILE…]`
 * inside the sandbox: writes the files (or standard input) as one job, under a temporary
 * name, then renames it: the node never reads half a job. Its output is the same on
 * every replica (lockstep: replicas must show the same screen).
 */
export const LP_SCRIPT = `#!/bin/sh
# Holdfast: what you print becomes a PDF in your Holdfast window (Print… or Save PDF).
spool=${PRINT_JOBS_DIR}
me=\${0##*/}
title=
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    -t|-J|-T|-C) title=$2; shift 2 ;;
    -t*|-J*|-T*) title=\${1#-?}; shift ;;
    -d|-P|-n|-\\#|-o|-q|-H|-U|-h|-m|-s|-l|-p|-r) case $1 in -d|-P|-n|-\\#|-o|-H|-U) shift 2 ;; *) shift ;; esac ;;
    -?*) shift ;;
    *) break ;;
  esac
done
for f in "$@"; do [ "$f" = - ] || [ -r "$f" ] || { echo "$me: cannot read $f" >&2; exit 1; }; done
[ -n "$title" ] || [ "\${1:-}" = - ] || title=\${1##*/}
tmp=$(mktemp "$spool/.part-XXXXXXXX") || { echo "$me: printing is not available here" >&2; exit 1; }
if [ $# -gt 0 ]; then cat -- "$@" > "$tmp"; else cat > "$tmp"; fi || { rm -f "$tmp"; echo "$me: the job could not be written" >&2; exit 1; }
id=\${tmp##*/.part-}
printf '%s' "$title" > "$spool/job-$id.title" 2>/dev/null
mv -f "$tmp" "$spool/job-$id" || exit 1
[ "$me" = lp ] && echo "request id is holdfast (1 file(s))"
exit 0
`;

/** One job as the node took it out of the spool. */
export interface SpooledJob {
  /** Its title ("" when none was given). */
  title: string;
  /** Its bytes; null when it was not read (`refused` says why). */
  data: Buffer | null;
  size: number;
  /** Not a regular file, over MAX_JOB_BYTES, or more jobs than the taker had room for (removed unread). */
  refused: 'not_a_file' | 'too_large' | 'busy' | null;
}

/** Entries a spool may hold at once; past them, unfinished jobs are removed (an app cannot use up the node's inodes). */
const MAX_ENTRIES = 64;

export class PrintSpool {
  /** Host directories: jobs (bound into the sandbox), bin (bound read-only), pdf (the node's). */
  readonly jobsDir: string;
  readonly binDir: string;
  readonly ippDir: string;
  readonly pdfDir: string;
  private readonly root: string;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private onJob: ((job: SpooledJob) => void) | null = null;
  private room: () => number = () => 0;
  /** Job names that could not be removed (folders): not reported again. */
  private readonly stuck = new Set<string>();
  /** The print dialogs' printer; listening (or failed to) once `printer` settles. */
  private readonly printer: Promise<IppPrinter | null>;

  /** Removes what an earlier run of the node left (its sessions are gone). */
  static removeStale(stateDir: string): void {
    rmSync(join(stateDir, 'print'), { recursive: true, force: true });
  }

  constructor(stateDir: string, sessionId: string) {
    const base = join(stateDir, 'print');
    // 0711: the sandbox's own host user (not the node's) must reach its jobs and bin to
    // bind them; the random part keeps anyone else from naming them.
    mkdirSync(base, { recursive: true, mode: 0o711 });
    this.root = join(base, `${sessionId.replace(/[^A-Za-z0-9_-]/g, '')}-${randomBytes(9).toString('base64url')}`);
    mkdirSync(this.root, { mode: 0o711 });
    this.jobsDir = join(this.root, 'jobs');
    this.binDir = join(this.root, 'bin');
    this.pdfDir = join(this.root, 'pdf');
    mkdirSync(this.jobsDir);
    // Anyone may add a job (the sandbox runs as a uid of its own) but none may list or remove another's.
    chmodSync(this.jobsDir, 0o1733);
    mkdirSync(this.binDir, { mode: 0o755 });
    for (const name of ['lp', 'lpr']) writeFileSync(join(this.binDir, name), LP_SCRIPT, { mode: 0o755 });
    writeFileSync(join(this.binDir, PRINT_PROFILE_FILE), PROFILE_SCRIPT, { mode: 0o644 });
    this.ippDir = join(this.root, 'ipp');
    mkdirSync(this.ippDir, { mode: 0o711 });
    mkdirSync(this.pdfDir, { mode: 0o700 });
    // Without it the dialogs list no printer but "Print to File", and lp still prints: not fatal.
    this.printer = IppPrinter.listen(join(this.ippDir, IPP_SOCKET_NAME), (job) => this.fromDialog(job)).catch(() => null);
  }

  /** Listening: the sandbox may bind the printer's socket now. */
  async ready(): Promise<boolean> {
    return (await this.printer) !== null;
  }

  /**
   * Calls `onJob` for every finished job that appears, taking it out of the spool first;
   * `room()` says how many may be read now (the rest are removed unread, as `busy`).
   */
  watch(onJob: (job: SpooledJob) => void, room: () => number): void {
    if (this.closed || this.watcher) return;
    this.onJob = onJob;
    this.room = room;
    this.watcher = watch(this.jobsDir, () => this.soon());
    this.watcher.on('error', () => {});
    // Never what keeps the node's process alive.
    this.watcher.unref();
    this.soon();
  }

  /**
   * Stops watching and removes the spool (the session ended). The jobs folder is the
   * app's, and its app may still be running: its entries are removed one level deep,
   * never recursively (a folder swapped for a link mid-way would lead a recursive removal
   * into the host's files). What cannot go so — a folder the app filled — stays until
   * the node's next start (removeStale), when no sandbox runs.
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    void this.printer.then((printer) => {
      printer?.close();
      rmSync(this.ippDir, { recursive: true, force: true });
      remove(this.root);
    });
    rmSync(this.binDir, { recursive: true, force: true });
    rmSync(this.pdfDir, { recursive: true, force: true });
    let left = false;
    try {
      for (const name of readdirSync(this.jobsDir)) left = !remove(join(this.jobsDir, name)) || left;
    } catch {
      /* gone already */
    }
    if (!left && remove(this.jobsDir)) remove(this.root);
  }

  /** A job printed through a dialog: taken like a spooled one, if the taker has room (the answer to the app is the same either way). */
  private fromDialog(job: IppJob): void {
    if (this.closed || !this.onJob) return;
    const refused = job.data === null ? 'too_large' : this.room() > 0 ? null : 'busy';
    this.onJob({ title: cleanTitle(job.title), data: refused ? null : job.data, size: job.size, refused });
  }

  /** Looks again (the taker has room again). Events come in bursts (a write, a rename): one scan after them. */
  soon(): void {
    if (this.timer !== undefined || this.closed || !this.onJob) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      for (const job of this.take(this.room())) this.onJob?.(job);
    }, 30);
  }

  /** The finished jobs now in the spool, each removed as it is taken; at most `room` of them read. */
  take(room: number): SpooledJob[] {
    let names: string[];
    try {
      names = readdirSync(this.jobsDir);
    } catch {
      return [];
    }
    names.sort();
    this.boundUnfinished(names.filter((name) => !JOB.test(name)), names.length > MAX_ENTRIES);
    const jobs: SpooledJob[] = [];
    for (const name of names) {
      if (!JOB.test(name) || name.endsWith('.title') || this.stuck.has(name)) continue;
      const path = join(this.jobsDir, name);
      const read = room-- > 0;
      const title = read ? readBounded(`${path}.title`, MAX_TITLE) : { data: null };
      const job = read ? readBounded(path, MAX_JOB_BYTES) : { data: null, size: 0 };
      remove(`${path}.title`);
      // A folder the app made there cannot be unlinked: reported once, then passed over.
      if (!remove(path)) this.stuck.add(name);
      jobs.push({
        title: title.data ? cleanTitle(title.data.toString('utf8')) : '',
        data: job.data,
        size: job.size,
        refused: !read ? 'busy' : job.data === null ? (job.size > MAX_JOB_BYTES ? 'too_large' : 'not_a_file') : null,
      });
    }
    return jobs;
  }

  /**
   * Jobs still being written take at most MAX_JOB_BYTES of disk together: past that,
   * each is emptied to a hole (its writer goes on; finished, it is refused). Too many
   * entries: the unfinished ones are removed.
   */
  private boundUnfinished(names: string[], tooMany: boolean): void {
    const paths = names.map((name) => join(this.jobsDir, name));
    if (tooMany) for (const path of paths) remove(path);
    else if (paths.reduce((sum, path) => sum + diskUse(path), 0) > MAX_JOB_BYTES) for (const path of paths) emptyToHole(path);
  }
}

/** A regular file's bytes, if it has at most `max`; never through a link, never a FIFO or device. */
function readBounded(path: string, max: number): { data: Buffer | null; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { data: null, size: 0 }; // gone, or a link (ELOOP)
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { data: null, size: 0 };
    if (stat.size > max) return { data: null, size: stat.size };
    // What it holds now (a job is complete once renamed; anything written after is not read).
    const data = Buffer.alloc(stat.size);
    let got = 0;
    while (got < data.length) {
      const n = readSync(fd, data, got, data.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return { data: data.subarray(0, got), size: got };
  } finally {
    closeSync(fd);
  }
}

/** The disk a spool entry takes (its blocks, not its size: a hole takes none); a link or anything odd: 0. */
function diskUse(path: string): number {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isFile() ? stat.blocks * 512 : 0;
}

/** Empties a regular file to a hole of the same size (its writer goes on at its offset); never through a link. */
function emptyToHole(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) {
      ftruncateSync(fd, 0);
      ftruncateSync(fd, stat.size);
    }
  } finally {
    closeSync(fd);
  }
}

/** Removes an entry (a link itself, never what it points to; an empty folder); false if it is still there. */
function remove(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code !== 'EISDIR' && code !== 'EPERM') return false;
  }
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A title as people and logs see it: no control characters, at most 120 characters. */
export function cleanTitle(title: string): string {
  return title.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, ' ').trim().slice(0, 120);
}
