// Part 14's viewers (sharing.ts): people watching the owner's session through a
// view-only share link, each a real WebSocket client of its own (the bench's protocol
// client) that joined with `session.join` and reads every OUTPUT frame. They run in a
// worker thread at the lowest priority: a viewer reads on their own machine, so here it
// may take only the CPU the node and the owner's client leave, and its reads must never
// sit on the event loop that times the owner's keystrokes.
import { setPriority } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ProtoClient } from './protocol-client.js';
import { withTimeout } from './timing.js';

/** What each viewer has read: the offset it is at, and any break in the stream. */
export interface ViewerState {
  next: number;
  frames: number;
  gaps: number;
  closed: string | null;
}

type Command = { join: number } | { leave: true } | { state: true } | { stop: true };
type Answer = { ok: true; viewers: ViewerState[] } | { error: string };

const WORKER = 'holdfast-bench-sharing-viewers';
interface WorkerArgs {
  kind: typeof WORKER;
  url: string;
  token: string;
  link: string;
  cols: number;
  rows: number;
}

/** The viewers' thread, driven one command at a time. */
export class Viewers {
  static start(args: Omit<WorkerArgs, 'kind'>): Viewers {
    return new Viewers(new Worker(new URL(import.meta.url), { workerData: { ...args, kind: WORKER } satisfies WorkerArgs }));
  }

  private queue: Promise<unknown> = Promise.resolve();
  private failed: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('error', (error) => (this.failed = error));
    worker.on('exit', (code) => (this.failed ??= new Error(`the viewers' worker exited (${code})`)));
  }

  /** Until `count` viewers watch: joins more (each from the snapshot at its join), never leaves. */
  join(count: number): Promise<ViewerState[]> {
    return this.ask({ join: count });
  }

  /** Every viewer closes its connection (the node forgets a watcher whose socket closes). */
  leave(): Promise<ViewerState[]> {
    return this.ask({ leave: true });
  }

  state(): Promise<ViewerState[]> {
    return this.ask({ state: true });
  }

  async stop(): Promise<void> {
    await this.ask({ stop: true }).catch(() => {});
    await this.worker.terminate();
  }

  private ask(command: Command): Promise<ViewerState[]> {
    const asked = this.queue.then(() => {
      if (this.failed) throw this.failed;
      return withTimeout(
        new Promise<ViewerState[]>((resolve, reject) => {
          this.worker.once('message', (answer: Answer) => ('error' in answer ? reject(new Error(answer.error)) : resolve(answer.viewers)));
          this.worker.postMessage(command);
        }),
        20_000,
        `the viewers to ${Object.keys(command)[0]}`,
      );
    });
    this.queue = asked.catch(() => {});
    return asked;
  }
}

// ---- the worker ----------------------------------------------------------------------

interface Viewer {
  client: ProtoClient;
  state: ViewerState;
}

async function joinOne(w: WorkerArgs, n: number): Promise<Viewer> {
  const client = await ProtoClient.open(w.url, w.token);
  // next: -1 until the join's answer says where the stream starts (or a frame came first).
  const state: ViewerState = { next: -1, frames: 0, gaps: 0, closed: null };
  // Read every frame as it comes, as a person's client does (nothing to acknowledge: a
  // watcher never holds the app back); note any break in the offsets.
  client.onOutput = (data, offset) => {
    state.frames += 1;
    if (state.next >= 0 && offset !== state.next) state.gaps += 1;
    state.next = offset + data.length;
  };
  void client.closed.then((c) => (state.closed = `${c.code} ${c.reason}`));
  const joined = await client.request({ type: 'session.join', link: w.link, tab: `bench-viewer-${n}-${Date.now()}`, cols: w.cols, rows: w.rows }, 'session.joined');
  if (joined.mode !== 'view') throw new Error(`joined as ${joined.mode}, not view`);
  // The snapshot stands for everything before outputOffset; frames from there on follow.
  if (state.next < 0) state.next = joined.outputOffset;
  else if (state.next < joined.outputOffset) state.gaps += 1;
  return { client, state };
}

if (!isMainThread && (workerData as Partial<WorkerArgs> | null)?.kind === WORKER) {
  const w = workerData as WorkerArgs;
  setPriority(19);
  const viewers: Viewer[] = [];
  let joined = 0;
  const states = () => viewers.map((v) => ({ ...v.state }));
  const handle = async (command: Command): Promise<ViewerState[]> => {
    if ('join' in command) {
      while (viewers.length < command.join) viewers.push(await joinOne(w, ++joined));
    } else if ('leave' in command || 'stop' in command) {
      const leaving = viewers.splice(0);
      await Promise.all(leaving.map((v) => v.client.close()));
      return leaving.map((v) => ({ ...v.state }));
    }
    return states();
  };
  parentPort!.on('message', (command: Command) => {
    handle(command).then(
      (viewers) => parentPort!.postMessage({ ok: true, viewers } satisfies Answer),
      (error: unknown) => parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) } satisfies Answer),
    );
  });
}
