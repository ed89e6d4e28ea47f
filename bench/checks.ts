// Part 6, correctness checks (PASS/FAIL, never timed): (a) the tail of an exiting app
// arrives whole, then session.exited, then close 1000; (b) a reader that stalls holds
// the app (alive, not disconnected), then gets every byte in order.
import { waitSandboxesGone } from './node.js';
import { cmdline, descendants, procStat, statusKb, wchan } from './proc.js';
import { untrack } from './processes.js';
import { ProtoSession } from './protocol-client.js';
import { N, PASSWORD } from './settings.js';
import { round } from './stats.js';
import { openCliPty, spawnCliPipe } from './clients.js';
import { sleep, until, withTimeout } from './timing.js';

export interface CheckResult {
  pass: boolean;
  detail: Record<string, unknown>;
}

// ---- (a) the tail at exit ------------------------------------------------------------
function expectedTail(randomBytes: number): number {
  const b64 = 4 * Math.ceil(randomBytes / 3);
  const lines = Math.ceil(b64 / 76);
  return b64 + 2 * lines + 'END-MARKER\r\n'.length;
}

function verifyTail(text: string, randomBytes: number) {
  const expected = expectedTail(randomBytes);
  const lines = text.split('\r\n');
  const problems: string[] = [];
  if (text.length !== expected) problems.push(`length ${text.length}, expected ${expected}`);
  if (!text.endsWith('END-MARKER\r\n')) problems.push(`ends with ${JSON.stringify(text.slice(-24))}`);
  const body = lines.slice(0, -2);
  const badLine = body.findIndex((l, i) => !/^[A-Za-z0-9+/=]+$/.test(l) || (i < body.length - 1 && l.length !== 76));
  if (badLine >= 0) problems.push(`line ${badLine + 1} is not a 76-column base64 line`);
  return { ok: problems.length === 0, expected, problems };
}

export async function checkExitTail(url: string, token: string, nodePid: number, randomBytes: number, appId: string, slow: boolean): Promise<CheckResult> {
  const s = await ProtoSession.launch(url, token, appId, { keep: true, ack: !slow });
  let ackTimer: NodeJS.Timeout | undefined;
  if (slow) {
    // A slow reader: nothing acknowledged for 1 s (the app is held at the window),
    // then one ack every 150 ms, so the app keeps hitting the window until it exits.
    await sleep(1000);
    ackTimer = setInterval(() => s.ackNow(), 150);
  }
  try {
    await s.waitExit(60_000);
  } finally {
    clearInterval(ackTimer);
  }
  const text = s.output().toString('latin1');
  const v = verifyTail(text, randomBytes);
  const exitBeforeClose = s.exited && s.client.closeInfo && s.exited.seq < s.client.closeInfo.seq;
  const pass = v.ok && s.gaps.length === 0 && s.exited?.exitCode === 0 && s.client.closeInfo?.code === 1000 && exitBeforeClose && s.outputAfterExit === 0;
  await waitSandboxesGone(nodePid);
  return {
    pass: Boolean(pass),
    detail: {
      received: text.length,
      expected: v.expected,
      problems: v.problems,
      offsetGaps: s.gaps.length,
      exitCode: s.exited?.exitCode,
      closeCode: s.client.closeInfo?.code,
      exitedBeforeClose: Boolean(exitBeforeClose),
      outputBytesAfterExit: s.outputAfterExit,
    },
  };
}

export async function checkExitTailCli(url: string, nodePid: number): Promise<CheckResult> {
  const child = spawnCliPipe(url, 'tail', 'cli:tail', { cliFlags: false });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.write(PASSWORD + '\n');
  const code = await withTimeout(new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c))), 60_000, 'CLI tail app');
  untrack(child.pid!);
  const text = Buffer.concat(out).toString('latin1');
  const v = verifyTail(text, N.tailRandomBytes);
  await waitSandboxesGone(nodePid);
  return { pass: v.ok && code === 0, detail: { received: text.length, expected: v.expected, problems: v.problems, cliExitCode: code, stderr: stderr.trim().slice(0, 200) } };
}

// ---- (b) a stalled reader -----------------------------------------------------------
/** Lines "1".."n" then END-MARKER, in order, CRs ignored; returns what is wrong, if anything. */
function verifySeq(text: string, n: number): string | null {
  const lines = text.replace(/\r/g, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < n; i++) {
    if (lines[i] !== String(i + 1)) return `line ${i + 1} is ${JSON.stringify((lines[i] ?? '<missing>').slice(0, 20))}, expected ${i + 1} (${lines.length} lines received)`;
  }
  if (lines[n] !== 'END-MARKER') return `after line ${n}: ${JSON.stringify((lines[n] ?? '<missing>').slice(0, 40))}, expected END-MARKER`;
  if (lines.length !== n + 1) return `${lines.length - n - 1} extra lines after END-MARKER`;
  return null;
}

/** The app's `seq`, told apart from the other checks' by its last number. */
function findSeq(nodePid: number, last: number) {
  const p = descendants(nodePid).find((d) => d.comm === 'seq' && cmdline(d.pid).at(-1) === String(last));
  return p ? procStat(p.pid) : null;
}

/** Samples every 5 s (and first after `earlyMs`, if given) until the stall has lasted N.stallMs. */
async function sampleThroughStall<T>(sample: (t: number) => T, earlyMs?: number): Promise<T[]> {
  const timeline: T[] = [];
  const t0 = Date.now();
  const take = () => timeline.push(sample(round((Date.now() - t0) / 1000, 1)));
  if (earlyMs !== undefined) {
    await sleep(earlyMs);
    take();
  }
  while (Date.now() - t0 < N.stallMs) {
    await sleep(Math.min(5000, N.stallMs - (Date.now() - t0)));
    take();
  }
  return timeline;
}

/** (b) via the protocol: no acks for the stall; the socket keeps being read (and ponged). */
export async function checkStallProtocol(url: string, token: string, nodePid: number): Promise<CheckResult> {
  const s = await ProtoSession.launch(url, token, 'seqa', { keep: true, ack: false });
  const timeline = await sampleThroughStall((t) => {
    const seq = findSeq(nodePid, N.seqLines);
    return {
      t,
      received: s.received,
      appAlive: seq !== null,
      appState: seq?.state,
      appCpuTicks: seq ? seq.utime + seq.stime : null,
      connectionOpen: s.client.closeInfo === null,
      exited: s.exited !== null,
      brokerRssKb: statusKb(nodePid, 'VmRSS'),
    };
  }, Math.min(5000, N.stallMs / 3));
  const first = timeline[0]!;
  const last = timeline.at(-1)!;
  const held =
    timeline.every((x) => x.connectionOpen && !x.exited && x.appAlive) &&
    last.received === first.received &&
    last.appCpuTicks === first.appCpuTicks &&
    first.received <= s.window + 1024 * 1024;
  s.resumeAcks();
  await s.waitExit(120_000);
  const text = s.output().toString('latin1');
  const problem = verifySeq(text, N.seqLines);
  await waitSandboxesGone(nodePid, 15_000).catch(() => {});
  return {
    pass: held && !problem && s.gaps.length === 0 && s.exited?.exitCode === 0 && s.client.closeInfo?.code === 1000,
    detail: {
      stallSeconds: N.stallMs / 1000,
      window: s.window,
      heldDuringStall: held,
      timeline,
      totalReceived: text.length,
      contentProblem: problem,
      offsetGaps: s.gaps.length,
      exitCode: s.exited?.exitCode,
      closeCode: s.client.closeInfo?.code,
      closeReason: s.client.closeInfo?.reason,
    },
  };
}

/** A `holdfast connect` whose output stops being read: on a PTY or on a pipe. */
interface StalledCli {
  pid: number;
  /** The app's last number (its `seq` in /proc). */
  lastLine: number;
  pause(): void;
  resume(): void;
  /** The CLI's exit code once the app has finished (null: not in time). */
  finished(): Promise<number | null>;
  /** Everything read from the CLI, as text. */
  output(): string;
  /** The output as the line check reads it. */
  lines?(text: string): string;
  /** What the detail says besides the common fields. */
  more(text: string): Record<string, unknown>;
}

/** The stall of a CLI: reading stops for N.stallMs while the app and CLI are watched, then resumes. */
async function stallCli(nodePid: number, cli: StalledCli): Promise<CheckResult> {
  cli.pause();
  const timeline = await sampleThroughStall((t) => {
    const seq = findSeq(nodePid, cli.lastLine);
    const p = procStat(cli.pid);
    return { t, appAlive: seq !== null, appState: seq?.state, cliAlive: p !== null && p.state !== 'Z', cliState: p?.state, cliWchan: p ? wchan(cli.pid) : null };
  });
  cli.resume();
  const code = await cli.finished();
  const text = cli.output();
  const problem = verifySeq(cli.lines ? cli.lines(text) : text, cli.lastLine);
  const held = timeline.every((x) => x.appAlive && x.cliAlive);
  const more = cli.more(text);
  await waitSandboxesGone(nodePid, 15_000).catch(() => {});
  return {
    pass: held && !problem && code === 0,
    detail: { stallSeconds: N.stallMs / 1000, heldDuringStall: held, timeline, cliExitCode: code, contentProblem: problem, ...more },
  };
}

/** (b) through the whole stack: the CLI's terminal stops being read (a paused terminal). */
export async function checkStallCli(url: string, nodePid: number): Promise<CheckResult> {
  const h = await openCliPty(url, 'seqb');
  const chunks: Buffer[] = [];
  let started = false;
  let pre = '';
  h.listener = (d) => {
    if (!started) {
      pre += d.toString('latin1');
      const at = pre.search(/(^|\n)1\r/);
      if (at < 0) return;
      started = true;
      chunks.push(Buffer.from(pre.slice(pre.indexOf('1\r', at)), 'latin1'));
      return;
    }
    chunks.push(Buffer.from(d));
  };
  await until(() => started, 15_000, 'seq output through the CLI');
  return stallCli(nodePid, {
    pid: h.pid,
    lastLine: N.seqLines + 1,
    pause: () => h.term.pause(),
    resume: () => h.term.resume(),
    finished: async () => {
      const exit = await withTimeout(h.exit, 120_000, 'CLI seq app to finish').catch(() => null);
      await sleep(100);
      return exit?.exitCode ?? null;
    },
    output: () => Buffer.concat(chunks).toString('latin1'),
    // The CLI's own last line ("holdfast: … exited") is not the app's.
    lines: (text) => text.replace(/\r*\nholdfast: [^\n]*\n?$/, '\n'),
    more: (text) => ({ outputTail: text.slice(-120) }),
  });
}

/** (b) through the CLI with stdout on a pipe nobody reads for a while (`holdfast connect … | less`). */
export async function checkStallCliPipe(url: string, nodePid: number): Promise<CheckResult> {
  const child = spawnCliPipe(url, 'seqc', 'cli:seqc');
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  void exited.then(() => untrack(child.pid!));
  const chunks: Buffer[] = [];
  let stderr = '';
  let got = 0;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d: Buffer) => {
    chunks.push(d);
    got += d.length;
  });
  child.stdin.write(PASSWORD + '\n');
  await until(() => got > 0, 15_000, 'seq output through the CLI (pipe)');
  return stallCli(nodePid, {
    pid: child.pid!,
    lastLine: N.seqLines + 2,
    pause: () => child.stdout.pause(),
    resume: () => child.stdout.resume(),
    finished: async () => {
      const code = await withTimeout(exited, 120_000, 'CLI (pipe) seq app to finish').catch(() => null);
      child.stdin.destroy();
      return code;
    },
    output: () => Buffer.concat(chunks).toString('latin1'),
    more: () => ({ stderr: stderr.trim().slice(0, 200) }),
  });
}
