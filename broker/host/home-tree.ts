// A selection of a session's home, walked for a zip (docs/protocol.md, "Session
// files"): each path the person chose — a file, or a folder with everything below it —
// as the sandbox sees it. A chosen path is resolved like a single download's (its links
// followed inside the sandbox, refused when they lead out of the home); below a chosen
// folder, find walks without following anything (-P), and links, pipes, sockets and
// devices are left out — never followed, so a link cannot take the zip out of the home
// or round in a circle. Files are read later, one at a time, by the reader the walk is
// given (home-files.ts): each is checked against what the walk saw, so one that changes
// in between is refused, not zipped as another file. The walk is bounded: at most
// `maxEntries` files and folders, one find per chosen path, each with its deadline.
import { SessionFileError } from '../../shared/protocol/index.js';
import { SANDBOX_HOME } from './sandbox.js';
import type { Ran } from './sandbox-commands.js';
import { failure, homePath, parseRecords, quoted, type HomeFile, type Stat } from './home-paths.js';

/** find's records for a walk: as FORMAT, but the path below the start (%P) for the name. */
const TREE_FORMAT = '%d\\t%y\\t%s\\t%T@\\t%i\\t%P\\0';

/** A file or folder of a selection, as it goes into the zip. */
export interface SelectedEntry {
  /** Its name in the zip: the chosen path's own name, then the path below it ("/"-separated). */
  readonly path: string;
  readonly kind: 'file' | 'folder';
  readonly size: number;
  /** ms since the epoch. */
  readonly modifiedAt: number;
  /** A file's reader (null for a folder); its stream errors with `changed` if the file is not what the walk saw. */
  readonly file: HomeFile | null;
}

export interface HomeSelection {
  /** The chosen paths, normalised (relative to the home; '' is the home), without repeats. */
  readonly paths: string[];
  /** Folders before what is in them. */
  readonly entries: SelectedEntry[];
  /** Links and special files below the chosen folders, left out (their zip paths). */
  readonly skipped: string[];
}

/** What a walk needs of the session's files (HomeFiles passes its own). */
export interface TreeAccess {
  run(command: string[], records?: number): Promise<Ran>;
  /** Where `arg` leads in the sandbox; refused when that is outside the home. */
  resolve(arg: string, relative: string): Promise<string>;
  /** A reader of the regular file at `real`, as `stat` saw it. */
  open(real: string, relative: string, stat: Stat): HomeFile;
}

/** Walks `paths` (each relative to the home); refuses a selection of more than `maxEntries` files, folders and links. */
export async function walkSelection(access: TreeAccess, paths: readonly string[], maxEntries: number): Promise<HomeSelection> {
  const chosen = [...new Map(paths.map((path) => homePath(path)).map((p) => [p.relative, p])).values()];
  const entries: SelectedEntry[] = [];
  const skipped: string[] = [];
  const roots = new Set<string>();
  let seen = 0;
  for (const { arg, relative } of chosen) {
    const real = arg === '.' ? SANDBOX_HOME : await access.resolve(arg, relative);
    const ran = await access.run(['/usr/bin/find', real, '-printf', TREE_FORMAT], maxEntries - seen + 1);
    if (ran.cut) throw tooMany(maxEntries);
    const [self, ...below] = parseRecords(ran.stdout);
    if (!self || self.depth !== 0) throw failure(ran.stderr, relative);
    if (ran.code !== 0) throw walkFailure(ran.stderr, relative);
    seen += 1 + below.length;
    if (seen > maxEntries) throw tooMany(maxEntries);
    const root = uniqueName(roots, relative === '' ? 'home' : relative.slice(relative.lastIndexOf('/') + 1));
    if (self.kind === 'file') {
      entries.push({ path: root, kind: 'file', size: self.size, modifiedAt: self.modifiedAt, file: access.open(real, relative, self) });
      continue;
    }
    if (self.kind !== 'folder') throw new SessionFileError('not_a_file', `${quoted(relative)} is not a regular file or folder (a pipe, a socket or a device); leave it out.`);
    // A file the session's user may not read is refused now, in words, not found out halfway through the zip.
    const unreadable = await access.run(['/usr/bin/find', real, '-type', 'f', '!', '-readable', '-printf', '%P\\0', '-quit'], 1);
    const first = unreadable.stdout.indexOf(0);
    if (first > 0) throw failure('Permission denied', `${relative === '' ? '' : `${relative}/`}${unreadable.stdout.subarray(0, first).toString('utf8')}`);
    entries.push({ path: root, kind: 'folder', size: 0, modifiedAt: self.modifiedAt, file: null });
    for (const stat of below.sort((a, b) => compare(a.name, b.name))) {
      const path = `${root}/${stat.name}`;
      if (stat.kind === 'folder') entries.push({ path, kind: 'folder', size: 0, modifiedAt: stat.modifiedAt, file: null });
      else if (stat.kind === 'file') {
        const inside = relative === '' ? stat.name : `${relative}/${stat.name}`;
        entries.push({ path, kind: 'file', size: stat.size, modifiedAt: stat.modifiedAt, file: access.open(`${real}/${stat.name}`, inside, stat) });
      } else skipped.push(path);
    }
  }
  return { paths: chosen.map((p) => p.relative), entries, skipped };
}

/** Two chosen paths of the same name ("a/x" and "b/x") go into the zip as "x" and "x (2)". */
function uniqueName(taken: Set<string>, name: string): string {
  let unique = name;
  for (let n = 2; taken.has(unique); n++) unique = `${name} (${n})`;
  taken.add(unique);
  return unique;
}

/** By their bytes (UTF-8 order), so a folder comes before what is in it and the order never depends on the node's locale. */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** find walked part of the way: a folder below it it may not read, or something that went away meanwhile. */
function walkFailure(stderr: string, relative: string): Error {
  const where = /'(\/home\/user\/[^']*)'/.exec(stderr)?.[1];
  const below = where ? where.slice(SANDBOX_HOME.length + 1) : relative;
  if (/Permission denied/.test(stderr)) return failure(stderr, below);
  return new SessionFileError('changed', `${quoted(below)} changed while the selection was read; download it again.`);
}

const tooMany = (max: number) =>
  new SessionFileError('too_many_files', `The selection holds more than ${max.toLocaleString('en-US')} files and folders, too many for one zip; select fewer, or make an archive inside the session and download that.`);
