// The lockstep coverage suite's runner (issue 20): each app of support/coverage-apps.ts
// is launched twice at once — replicated in a 3-node cluster (a primary and a standby)
// and alone on a single-node reference cluster — and both are given the same scripted
// inputs. Halfway through, the replicated session's primary node is killed (kill -9);
// the script then finishes on whichever replica took over.
//
// What it reports per app, each as a person or an operator would see it:
//   diverged     standby divergences the cluster reported before the kill (and after it)
//   screen kept  the screen the takeover showed (the resume snapshot: terminal text and
//                cursor, or the framebuffer) equals the one the person had just before the kill
//                (not for an app that animates on its own: its screen has moved on by then)
//   files kept   the files the app saved, on the replica that took over, equal the dead
//                primary's (read from its disk after the kill)
//   reference    the final screen and files equal the reference run's (after masking
//                what the app says differs by design between runs: times, random numbers)
//   kill → live  from the kill to the session streaming again
//   standby back the session had a standby in step again after the takeover
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ClusterStatus } from '../broker/gateway/admin-api.js';
import { sessionOf, startCluster, waitForStatus, whole, type TestCluster } from './cluster-harness.js';
import { COVERAGE_APPS, PAUSE_MS, type CoverageApp, type Step } from './coverage-apps.js';
import { TerminalDriven, open, sleep, type Driven } from './coverage-drivers.js';
import { client } from './harness.js';
import { readHomeFile } from './homes.js';

/** Before the kill: the primary compares screens and files with its standby in quiet moments (broker/cluster/screen-checks.ts). */
const CHECK_WAIT_MS = 2500;
/** How long a step waits for the app's prompt (CoverageApp.prompt) before it is typed anyway. */
const PROMPT_WAIT_MS = 10_000;

export interface CoverageResult {
  app: string;
  name: string;
  gui: boolean;
  /** Why it did not run (not installed), or null. */
  skipped: string | null;
  /** The session was lost (the takeover failed) or the run broke: what happened. */
  lost: string | null;
  divergencesBeforeKill: number;
  divergencesAfterKill: number;
  /** What the divergence events said. */
  divergenceDetails: string[];
  screenKept: boolean | null;
  filesKept: boolean | null;
  matchesReference: boolean | null;
  killToLiveMs: number | null;
  standbyBack: boolean | null;
  /** Why lockstep cannot keep it, as its definition says. */
  cannot: string | null;
  /** Differences found, for the report (first lines of each). */
  notes: string[];
}

/** The catalog entries the suite's clusters need: each app, replicated (cluster) or alone (reference). */
export function coverageCatalog(apps: CoverageApp[], replicas: number): unknown[] {
  return apps.map((app) => ({
    id: `cov-${app.id}`,
    name: app.name,
    command: app.command,
    args: app.args ?? [],
    env: { TERM: 'xterm-256color', ...app.env },
    replicas,
    ...(app.gui ? { display: 'rfb', geometry: app.gui.geometry } : {}),
  }));
}

export function installed(app: CoverageApp): boolean {
  return existsSync(app.command);
}

/** The sandbox directories under a node's state directory. */
function sandboxes(stateDir: string): string[] {
  const root = join(stateDir, 'sandboxes');
  return existsSync(root) ? readdirSync(root).map((id) => join(root, id)) : [];
}

/**
 * The files the app saved in the home of its replica on a node: the sandbox there that
 * was not there before the run (`earlier`; a killed node leaves its sandboxes behind).
 */
function savedFiles(stateDir: string, app: CoverageApp, earlier: Set<string>): Map<string, Buffer | null> {
  const homes = sandboxes(stateDir)
    .filter((dir) => !earlier.has(dir))
    .filter((dir) => existsSync(join(dir, 'home')))
    .sort((a, b) => statSync(join(b, 'home')).mtimeMs - statSync(join(a, 'home')).mtimeMs);
  const files = new Map<string, Buffer | null>();
  for (const name of app.files) {
    // Homes are volumes (support/homes.ts): read through the sandbox, or from its image once it is gone.
    files.set(name, homes.map((dir) => readHomeFile(stateDir, basename(dir), name)).find((bytes) => bytes !== null) ?? null);
  }
  return files;
}

const digest = (bytes: Buffer | null) => (bytes ? createHash('sha256').update(bytes).digest('hex').slice(0, 16) : 'missing');

function sameFiles(a: Map<string, Buffer | null>, b: Map<string, Buffer | null>, mask?: (text: string) => string | null): string[] {
  const differences: string[] = [];
  for (const [name, bytes] of a) {
    const other = b.get(name) ?? null;
    if (mask && bytes && other) {
      const [x, y] = [mask(bytes.toString('utf8')), mask(other.toString('utf8'))];
      if (x === null || y === null) continue; // not text: a binary file with varying content cannot be compared with a reference
      if (x !== y) differences.push(`${name}: ${JSON.stringify(x.slice(0, 120))} ≠ ${JSON.stringify(y.slice(0, 120))}`);
    } else if (digest(bytes) !== digest(other)) differences.push(`${name}: ${digest(bytes)} ≠ ${digest(other)}`);
  }
  return differences;
}

function masker(app: CoverageApp): (text: string) => string | null {
  return (text) => {
    if (text.includes('\u0000') || text.includes('\ufffd')) return app.varies ? null : text;
    return app.varies instanceof RegExp ? text.replace(app.varies, '#') : text;
  };
}

/** The lines where two screens differ (at most three, for the report). */
function screenDifference(a: string, b: string): string {
  const [x, y] = [a.split('\n'), b.split('\n')];
  const lines: string[] = [];
  for (let i = 0; i < Math.max(x.length, y.length) && lines.length < 3; i++) {
    if (x[i] !== y[i]) lines.push(`line ${i + 1}: ${JSON.stringify((x[i] ?? '').trimEnd().slice(0, 80))} ≠ ${JSON.stringify((y[i] ?? '').trimEnd().slice(0, 80))}`);
  }
  return lines.join('; ');
}

const divergences = (status: ClusterStatus, id: string) => status.events.filter((e) => e.kind === 'divergence' && e.session === id);

export interface CoverageClusters {
  cluster: TestCluster;
  reference: TestCluster;
  stop(): Promise<void>;
}

/** A 3-node cluster running the apps with 2 replicas, and a single-node reference running them alone. */
export async function startCoverageClusters(apps: CoverageApp[], options: { cli?: string; tag?: string } = {}): Promise<CoverageClusters> {
  const cluster = await startCluster({ nodes: 3, apps: coverageCatalog(apps, 2), tag: `${options.tag ?? 'coverage'}`, ...(options.cli ? { cli: options.cli } : {}) });
  let reference: TestCluster;
  try {
    reference = await startCluster({ nodes: 1, apps: coverageCatalog(apps, 1), tag: `${options.tag ?? 'coverage'}-reference`, ...(options.cli ? { cli: options.cli } : {}) });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    cluster,
    reference,
    stop: async () => {
      await Promise.all([cluster.stop(), reference.stop()]);
    },
  };
}

/**
 * Runs one app's script on both clusters, killing the replicated session's primary
 * halfway. `sessionMs`: spread the script over a session about this long (its pauses
 * lengthened, the kill still halfway), so the standbys are checked over that long —
 * timers, clocks and all — and not only the seconds a script takes.
 */
export async function runCoverageApp(clusters: CoverageClusters, app: CoverageApp, sessionMs = 0): Promise<CoverageResult> {
  const result: CoverageResult = {
    app: app.id,
    name: app.name,
    gui: Boolean(app.gui),
    skipped: null,
    lost: null,
    divergencesBeforeKill: 0,
    divergencesAfterKill: 0,
    divergenceDetails: [],
    screenKept: null,
    filesKept: null,
    matchesReference: null,
    killToLiveMs: null,
    standbyBack: null,
    cannot: app.cannot ?? null,
    notes: [],
  };
  if (!installed(app)) {
    result.skipped = `${app.command} is not installed (apt-get install ${app.package})`;
    return result;
  }
  const { cluster: c, reference } = clusters;
  const gateway = c.nodes.find((n) => n.alive)!;
  const person = client(gateway.url);
  const alone = client(reference.nodes[0]!.url);
  let replicated: Driven | null = null;
  let single: Driven | null = null;
  let killed: string | null = null;
  try {
    const earlier = new Set([...c.nodes, ...reference.nodes].flatMap((node) => sandboxes(node.stateDir)));
    await Promise.all([person.signIn('ann', 'ann-pw'), alone.signIn('ann', 'ann-pw')]);
    [replicated, single] = await Promise.all([open(person, app), open(alone, app)]);
    const id = replicated.stream.sessionId!;
    await waitForStatus(c, whole(id), 30_000);
    // Settled, not drawn: on a loaded host the app may not have drawn yet, and the first
    // keys come before its window does — type-ahead, which every replica must hold until
    // its app has started (host/rfb-display.ts), not lose some of.
    await Promise.all([replicated.settled(), single.settled()]);
    const half = Math.floor(app.steps.length / 2);
    const spacing = sessionMs / Math.max(1, app.steps.length);
    const play = async (steps: Step[]) => {
      for (const step of steps) {
        if (app.prompt) await Promise.all([replicated!.prompted(app.prompt, PROMPT_WAIT_MS), single!.prompted(app.prompt, PROMPT_WAIT_MS)]);
        replicated!.step(step);
        single!.step(step);
        await sleep(Math.max(step.pause ?? PAUSE_MS, spacing));
      }
    };
    await play(app.steps.slice(0, half));
    await replicated.settled();
    // The standby has every entry the primary applied (a person's kill comes at any moment; this one tests the state, not the race).
    await waitForStatus(c, (s) => sessionOf(s, id)?.protection === 'protected' && Object.values(sessionOf(s, id)!.lag).every((lag) => lag === 0), 20_000).catch(() => {
      result.notes.push('the standby was not in step at the kill (it had not applied everything within 20 s)');
    });
    // Time for the primary's quiet-time screen and files check (HASH_CHECK_MS, twice over), so a standby already diverged is counted as such.
    await sleep(CHECK_WAIT_MS);
    const statusBefore = await c.status();
    const before = divergences(statusBefore, id);
    result.divergencesBeforeKill = before.length;
    result.divergenceDetails.push(...before.map((e) => e.detail));
    const record = sessionOf(statusBefore, id);
    if (!record || record.standbys.length === 0) throw new Error('the session had no standby at the kill (its standby was dropped)');
    const primary = record.primary;
    const screenBefore = await replicated.settled();
    const wentLive = new Promise<number>((resolve) => {
      let lost = false;
      const unsubscribe = replicated!.stream.subscribe((view) => {
        if (view.status !== 'streaming') lost = true;
        else if (lost) {
          unsubscribe();
          resolve(performance.now());
        }
      });
    });
    if (replicated instanceof TerminalDriven) replicated.resumed = null;
    const killedAt = performance.now();
    c.signal(primary, 'SIGKILL');
    killed = primary;
    const primaryFiles = savedFiles(c.node(primary).stateDir, app, earlier);
    const live = await Promise.race([wentLive, sleep(30_000).then(() => null)]);
    if (live === null) throw new Error('the session did not stream again within 30 s of the kill');
    result.killToLiveMs = Math.round(live - killedAt);
    const takeover = replicated instanceof TerminalDriven ? await replicated.resumedScreen() : await replicated.look();
    result.screenKept = app.animates ? null : takeover === screenBefore;
    if (result.screenKept === false) result.notes.push(`takeover screen ≠ screen before the kill: ${app.gui ? 'the framebuffers differ' : screenDifference(screenBefore, takeover)}`);
    const after = await waitForStatus(c, (s) => (sessionOf(s, id)?.epoch ?? 0) > record.epoch, 15_000);
    const promoted = sessionOf(after, id)!.primary;
    await replicated.settled();
    const differences = sameFiles(primaryFiles, savedFiles(c.node(promoted).stateDir, app, earlier));
    result.filesKept = differences.length === 0;
    if (differences.length > 0) result.notes.push(`files after the takeover ≠ the dead primary's: ${differences.join('; ')}`);
    const restarted = c.restart(primary);
    await play(app.steps.slice(half));
    const [finalScreen, referenceScreen] = await Promise.all([replicated.settled(), single.settled()]);
    await restarted;
    killed = null;
    result.standbyBack = await waitForStatus(c, whole(id), 20_000).then(
      () => true,
      () => false,
    );
    const statusAfter = await c.status();
    const later = divergences(statusAfter, id);
    result.divergencesAfterKill = later.length;
    result.divergenceDetails.push(...later.map((e) => e.detail));
    const finalPrimary = sessionOf(statusAfter, id)?.primary ?? promoted;
    if (app.varies !== 'everything') {
      const mask = masker(app);
      const screenMatch = app.gui ? finalScreen === referenceScreen : mask(finalScreen) === mask(referenceScreen);
      const fileDifferences = sameFiles(savedFiles(c.node(finalPrimary).stateDir, app, earlier), savedFiles(reference.nodes[0]!.stateDir, app, earlier), mask);
      result.matchesReference = screenMatch && fileDifferences.length === 0;
      if (!screenMatch) result.notes.push(`final screen ≠ reference: ${app.gui ? 'the framebuffers differ' : screenDifference(mask(finalScreen)!, mask(referenceScreen)!)}`);
      if (fileDifferences.length > 0) result.notes.push(`final files ≠ reference: ${fileDifferences.join('; ')}`);
    }
  } catch (error) {
    result.lost = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error);
  } finally {
    replicated?.close();
    single?.close();
    person.signOut();
    alone.signOut();
    if (killed) await c.restart(killed).catch(() => {});
  }
  return result;
}

/** Passed: kept its screen and files across the kill, matched the reference, and no standby diverged. */
export function passed(result: CoverageResult): boolean {
  return (
    result.skipped === null &&
    result.lost === null &&
    result.screenKept !== false &&
    result.filesKept === true &&
    result.matchesReference !== false &&
    result.divergencesBeforeKill === 0 &&
    result.divergencesAfterKill === 0
  );
}

export { COVERAGE_APPS };
