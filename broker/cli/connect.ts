// `holdfast connect`: one app in the person's own terminal, through the same session
// core as the desktop and web clients. Raw mode in, bytes out, SIGWINCH → resize,
// and the app's exit code becomes ours. Output is acknowledged only once stdout has
// taken it, so a paused terminal holds the app back instead of filling memory.
import { constants as fsConstants, openSync, readFileSync, write as fsWrite, writeSync } from 'node:fs';
import WebSocket from 'ws';
import { HoldfastClient, ProtocolError, type OutputSink, type SocketFactory, type SocketLike } from '../../shared/core/index.js';
import { SYSTEM_TRUST, wsTrustOptions, type Trust } from '../tls/trust.js';

export interface ConnectOptions {
  broker: string;
  user: string;
  /** Launch this app — or, with `attach`, attach to a running session of it. */
  app: string | null;
  password: string;
  /** Attach to a running session (started here or in any other client) instead of launching. */
  attach: boolean;
  /** With `attach`: this session, rather than the newest. */
  sessionId: string | null;
  /** Watch someone's session through this share link (docs/protocol.md#sharing-a-session) instead of launching. */
  join?: string | null;
  /** Whom to trust for an https/wss broker (--ca, --pin). */
  trust?: Trust;
}

/**
 * Node's WebSocket for the session core. One message per event-loop turn, as in a
 * browser: a reply's promise continuation runs before the frames that follow it are
 * handled (so a resumed session's new stream never reaches a sink not yet reset).
 */
export function nodeSocketFactoryWith(trust: Trust): SocketFactory {
  return (url, protocols) =>
    withFailureReason(new WebSocket(url, protocols, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, allowSynchronousEvents: false, ...wsTrustOptions(url, trust) }));
}

/** Trusts what the system trusts (and NODE_EXTRA_CA_CERTS). */
export const nodeSocketFactory: SocketFactory = nodeSocketFactoryWith(SYSTEM_TRUST);

/**
 * A browser says nothing about why a socket failed to open; Node knows (refused,
 * untrusted certificate, unknown host). A close without a reason that follows an
 * error carries the error's message, so a person reads what went wrong.
 */
function withFailureReason(ws: WebSocket): SocketLike {
  let why = '';
  let handler: SocketLike['onclose'] = null;
  ws.on('error', (error) => (why ||= error.message));
  ws.on('close', (code, reason) => handler?.({ code, reason: reason.toString('utf8') || why }));
  Object.defineProperty(ws, 'onclose', { get: () => handler, set: (next: SocketLike['onclose']) => (handler = next), configurable: true });
  return ws as unknown as SocketLike;
}

/**
 * A non-blocking way to write to the terminal on fd 1, for the fast path: fd 1 itself
 * if it is non-blocking, else a file description of our own on the same terminal
 * (Node sets process.stdout's blocking, and we must not change a description the
 * shell shares). Null where neither can be had (not Linux, or the terminal belongs to
 * another user): every write then takes the thread pool.
 */
function nonBlockingTerminal(): number | null {
  try {
    const flags = /^flags:\s+(\d+)/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))?.[1];
    if (flags === undefined) return null;
    if ((parseInt(flags, 8) & fsConstants.O_NONBLOCK) !== 0) return 1;
    return openSync('/proc/self/fd/1', fsConstants.O_WRONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch {
    return null;
  }
}

/**
 * The CLI's screen: output to stdout, and word of when it is written. Node writes to a terminal
 * synchronously, so a terminal that stops reading (Ctrl-S, a stalled emulator) would
 * freeze the whole client — no pings answered, the session dropped. Terminal writes
 * therefore go through fs.write, one at a time: a blocked write ties up a thread-pool
 * thread, not the event loop, acknowledgements stop, and the broker holds the app.
 * What the terminal takes at once — a keystroke's echo — is written straight to a
 * non-blocking description of it, without the thread pool's two wake-ups. Pipes are
 * asynchronous already and keep stdout.write with its drain event.
 */
function terminalSink(): OutputSink & { flushed(): Promise<void> } {
  const { stdout } = process;
  const queue: Array<{ data: Uint8Array; done: () => void }> = [];
  let idle: Array<() => void> = [];
  const next = () => {
    const head = queue[0];
    if (!head) {
      for (const resolve of idle) resolve();
      idle = [];
      return;
    }
    fsWrite(1, head.data, 0, head.data.length, null, (error, written) => {
      if (error) {
        // The terminal shares its file description with stdin, which may be
        // non-blocking: EAGAIN means "full, try again", not "gone".
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(next, 2);
          return;
        }
        queue.length = 0; // the terminal is gone: nothing more can be shown
      } else if (written < head.data.length) {
        head.data = head.data.subarray(written);
      } else {
        queue.shift();
        head.done();
      }
      next();
    });
  };
  const fast = stdout.isTTY ? nonBlockingTerminal() : null;
  const write = (data: Uint8Array, done: () => void) => {
    if (!stdout.isTTY) {
      if (stdout.write(data)) done();
      else stdout.once('drain', done);
      return;
    }
    // Fast path for a keystroke's echo: a non-blocking terminal takes a write at once
    // or says EAGAIN, so writeSync cannot freeze the client, and no thread-pool hop
    // delays the echo; the queue takes the rest.
    if (fast !== null && queue.length === 0) {
      try {
        const written = writeSync(fast, data);
        if (written === data.length) return done();
        data = data.subarray(written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
    queue.push({ data, done });
    if (queue.length === 1) next();
  };
  return {
    write,
    // After a reconnect the host's snapshot replaces whatever the terminal shows.
    reset: (snapshot) => write(new TextEncoder().encode('\x1b[H\x1b[2J\x1b[3J' + snapshot), () => {}),
    flushed: () =>
      new Promise<void>((resolve) => {
        if (queue.length === 0) stdout.write('', () => resolve());
        else idle.push(resolve);
      }),
  };
}

export async function connect(options: ConnectOptions): Promise<number> {
  const { stdin, stdout, stderr } = process;
  const client = new HoldfastClient({ brokerUrl: options.broker, socketFactory: nodeSocketFactoryWith(options.trust ?? SYSTEM_TRUST) });
  try {
    await client.signIn(options.user, options.password);
    const size = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
    const graphical = new Set((await client.listApps()).filter((app) => app.display === 'rfb').map((app) => app.id));
    const refuseGraphical = (appId: string) => {
      stderr.write(`holdfast connect: "${appId}" is a graphical app and cannot run in a terminal; open it in the Holdfast launcher or the web client at ${options.broker.replace(/^ws/, 'http')}.\n`);
      client.signOut();
      return 1;
    };
    let stream;
    if (options.join) {
      stream = client.join(options.join, size().cols, size().rows);
      // What it shows is known once joined (its output waits in the stream meanwhile): a graphical app's is not for a terminal.
      await stream.ready();
      if (stream.view.watching?.display === 'rfb') {
        stream.close();
        stderr.write(`holdfast connect: ${stream.view.watching.ownerName}’s ${stream.view.watching.appName} is a graphical app and cannot be watched in a terminal; open the link in a web browser or the Holdfast app.\n`);
        client.signOut();
        return 1;
      }
    } else if (options.attach) {
      const running = (await client.listSessions())
        .filter((s) => (options.sessionId ? s.sessionId === options.sessionId : !options.app || s.appId === options.app))
        .sort((a, b) => b.startedAt - a.startedAt);
      const chosen = running[0];
      if (!chosen) {
        stderr.write(`holdfast connect: you have no running session${options.app ? ` of "${options.app}"` : ''}${options.sessionId ? ` with id ${options.sessionId}` : ''} to attach to.\n`);
        client.signOut();
        return 1;
      }
      if (graphical.has(chosen.appId)) return refuseGraphical(chosen.appId);
      stderr.write(`holdfast: attaching to ${chosen.appName}, started ${new Date(chosen.startedAt).toLocaleString()}${chosen.attached ? ' (moving it from another client)' : ''}\r\n`);
      stream = client.attach(chosen, size().cols, size().rows);
    } else {
      if (graphical.has(options.app!)) return refuseGraphical(options.app!);
      stream = client.launch(options.app!, size().cols, size().rows);
    }
    const sink = terminalSink();
    stream.setSink(sink);
    await stream.ready();
    const watching = options.join ? stream.view.watching : null;
    /** A watcher leaves with Ctrl-] (telnet's escape): their other keys are the app's — or nobody's, on a view-only link. */
    let left = false;
    if (watching) {
      const mode = () => (stream.view.watching?.mode === 'type' ? 'you can type' : 'view only');
      stderr.write(`[holdfast] watching ${watching.ownerName}’s ${watching.appName} (${watching.cols}×${watching.rows}), ${mode()} — Ctrl-] leaves\r\n`);
      let lastMode = watching.mode;
      stream.subscribe((view) => {
        if (view.watching && view.watching.mode !== lastMode) {
          lastMode = view.watching.mode;
          stderr.write(`\r\n[holdfast] ${view.watching.message ?? mode()}\r\n`);
        }
      });
    }
    let wasDown = false;
    // A session policy's warning, once as it starts: a line in the app's screen is the
    // one place a person at a terminal looks (Ctrl-L redraws a full-screen app).
    let warned: string | null = null;
    stream.subscribe((view) => {
      const notice = view.notice?.message ?? null;
      if (notice !== null && notice !== warned) stderr.write(`\r\n[holdfast] ${notice}\r\n`);
      warned = notice;
      if (view.status === 'reconnecting' && !wasDown) {
        wasDown = true;
        const left = view.holdDeadline ? Math.max(0, Math.round((view.holdDeadline - Date.now()) / 1000)) : 0;
        stderr.write(`\r\n[holdfast] connection lost (${view.lastError ?? 'unknown'}); reconnecting — your session is held for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}\r\n`);
      } else if (view.status === 'streaming') {
        wasDown = false;
      }
    });
    let toldViewOnly = false;
    const onInput = (data: Buffer) => {
      if (watching && data.includes(0x1d)) {
        left = true;
        return stream.close();
      }
      if (!stream.sendInput(data) && watching && !toldViewOnly) {
        toldViewOnly = true;
        stderr.write(`\r\n[holdfast] view only: your keys do not reach ${watching.ownerName}’s ${watching.appName}. Ctrl-] leaves.\r\n`);
      }
    };
    const onResize = () => stream.resize(size().cols, size().rows);
    const raw = stdin.isTTY;
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.resume();
    process.on('SIGWINCH', onResize);
    const end = await stream.finished();
    stdin.off('data', onInput);
    process.off('SIGWINCH', onResize);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    await sink.flushed();
    if (watching) {
      client.signOut();
      if (left) return 0;
      stderr.write(`\r\nholdfast: ${end.reason ?? 'you are no longer watching'}\r\n`);
      return 1;
    }
    const code = end.exitCode ?? 1;
    if (code !== 0) stderr.write(`\r\nholdfast: ${end.reason ?? 'the session ended'}\r\n`);
    client.signOut();
    return code < 0 ? 1 : code;
  } catch (error) {
    client.signOut();
    const message = error instanceof ProtocolError || error instanceof Error ? error.message : String(error);
    stderr.write(`holdfast connect: ${message}\n`);
    return 1;
  }
}
