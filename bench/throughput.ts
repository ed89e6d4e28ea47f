// Part 4, throughput: 100 MiB of output from a sandboxed app to `holdfast connect` on a
// PTY and on a pipe, to the bench's protocol client, and from a bare PTY (the floor),
// every byte verified, with the CPU the broker, the CLI and this reader spend.
import { waitSandboxesGone } from './node.js';
import { cpuMeter, selfMeter } from './proc.js';
import { untrack } from './processes.js';
import { ProtoSession } from './protocol-client.js';
import { BUDGET, BULK_CMD, N, PASSWORD } from './settings.js';
import { round } from './stats.js';
import { openCliPty, openPty, spawnCliPipe } from './clients.js';
import { nowNs, until, withTimeout } from './timing.js';

const XS = Buffer.alloc(1 << 20, 'x');

export type XResult = ReturnType<ReturnType<typeof xCounter>['result']>;

/** Counts the 'x' stream: verifies every byte after the first 'x' is 'x' up to `total`. */
export function xCounter(total: number) {
  let count = 0;
  let bad = 0;
  let extraAfter = 0;
  let tFirst: bigint | null = null;
  let tLast: bigint | null = null;
  let started = false;
  let firstBad: { offset: number; context: string } | undefined;
  return {
    get count() {
      return count;
    },
    feed(data: Buffer): void {
      let buf = data;
      if (!started) {
        const at = buf.indexOf(0x78);
        if (at < 0) return;
        started = true;
        tFirst = nowNs();
        buf = buf.subarray(at);
      }
      const want = Math.min(buf.length, total - count);
      for (let at = 0; at < want; at += XS.length) {
        const n = Math.min(XS.length, want - at);
        if (buf.compare(XS, 0, n, at, at + n) !== 0) {
          for (let i = at; i < at + n; i++) {
            if (buf[i] === 0x78) continue;
            if (bad === 0) firstBad = { offset: count + i, context: JSON.stringify(buf.subarray(Math.max(0, i - 8), i + 72).toString('latin1')) };
            bad += 1;
          }
        }
      }
      count += want;
      if (want < buf.length) extraAfter += buf.length - want;
      if (count === total && tLast === null) tLast = nowNs();
    },
    result<E extends object>(extra: E = {} as E) {
      const seconds = tLast && tFirst ? Number(tLast - tFirst) / 1e9 : NaN;
      return {
        bytes: count,
        expectedBytes: total,
        bytesOk: count === total && bad === 0,
        nonXBytes: bad,
        firstNonX: firstBad,
        seconds: round(seconds, 3),
        MBs: round(total / 1024 / 1024 / seconds, 1),
        ...extra,
      };
    },
    /** Bytes after the expected total (kept for diagnosis; not reported). */
    get extraAfter() {
      return extraAfter;
    },
  };
}

export async function benchThroughput(url: string, token: string, nodePid: number) {
  const total = N.bulkBytes;

  // Floor: a bare node-pty running the same pipeline, no sandbox, no network.
  let floorPty;
  {
    const c = xCounter(total);
    const self = selfMeter();
    let reads = 0;
    // The shell lingers after the data so the PTY stays open until every byte is read
    // (on this kernel a PTY can report EOF before the last bytes of a dead writer are in).
    const h = openPty('/bin/sh', ['-c', `${BULK_CMD}; sleep 30`], { label: 'floor:bulk' });
    h.listener = (d) => {
      reads += 1;
      c.feed(d);
    };
    await until(() => c.count >= total || h.exitInfo !== null, 120_000, 'floor bulk output', 20);
    await h.kill();
    floorPty = c.result({ what: 'node-pty running the same sh pipeline directly, read in this process', readerCpu: self.stop(), reads });
  }

  // The CLI in a PTY: the whole stack as a person's terminal sees it.
  let cliPty;
  {
    const c = xCounter(total);
    const broker = cpuMeter(nodePid);
    const self = selfMeter();
    const h = await openCliPty(url, 'bulk');
    const cli = cpuMeter(h.pid, true);
    h.listener = c.feed;
    const exit = await withTimeout(h.exit, 120_000, 'CLI (pty) bulk output');
    cliPty = c.result({
      what: '`holdfast connect` with its stdout on a PTY (node-pty) read by this process',
      cliExitCode: exit.exitCode,
      brokerCpu: broker.stop(),
      cliCpu: cli.stop(),
      readerCpu: self.stop(),
    });
    await waitSandboxesGone(nodePid);
  }

  // The CLI with stdout on a pipe drained as fast as possible.
  let cliPipe;
  {
    const c = xCounter(total);
    const broker = cpuMeter(nodePid);
    const self = selfMeter();
    const child = spawnCliPipe(url, 'bulk', 'cli:pipe');
    const cli = cpuMeter(child.pid!, true);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', c.feed);
    child.stdin.write(PASSWORD + '\n');
    const exit = await withTimeout(new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))), 120_000, 'CLI (pipe) bulk output');
    const cliCpu = cli.stop();
    untrack(child.pid!);
    child.stdin.destroy();
    cliPipe = c.result({
      what: '`holdfast connect` with stdout on a pipe this process drains',
      cliExitCode: exit,
      stderr: stderr.trim().slice(0, 300),
      brokerCpu: broker.stop(),
      cliCpu,
      readerCpu: self.stop(),
    });
    await waitSandboxesGone(nodePid);
  }

  // The bench's own protocol client: broker + sandbox only, no CLI, no client PTY.
  let protocolClient;
  {
    const c = xCounter(total);
    const broker = cpuMeter(nodePid);
    const self = selfMeter();
    let frames = 0;
    const s = await ProtoSession.launch(url, token, 'bulk');
    s.onData = (d) => {
      frames += 1;
      c.feed(d);
    };
    await s.waitExit(120_000);
    protocolClient = c.result({
      what: 'the bench protocol client (ws), acks every window/4 like the session core',
      exitCode: s.exited?.exitCode,
      closeCode: s.client.closeInfo?.code,
      outputFrames: frames,
      meanFrameBytes: Math.round(total / frames),
      brokerCpu: broker.stop(),
      readerCpu: self.stop(),
    });
    await waitSandboxesGone(nodePid);
  }
  return {
    floorPty,
    cliPty,
    cliPipe,
    protocolClient,
    budgetMBs: BUDGET.throughputMBs,
    ratioCliPtyToFloor: round(cliPty.MBs / floorPty.MBs, 2),
    ratioCliPipeToFloor: round(cliPipe.MBs / floorPty.MBs, 2),
  };
}
