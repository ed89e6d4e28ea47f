// Readers of /proc: a process's state and CPU ticks, its memory (RSS, PSS), its command
// line and wait channel, every descendant of a process, and CPU meters built on them.
// Linux only, like the rest of the bench.
import { readFileSync, readdirSync } from 'node:fs';
import { round } from './stats.js';

const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  starttime: number;
}

export function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // f[0] is field 3 (state); field n is f[n-3]
    return { pid, comm, state: f[0]!, ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), starttime: Number(f[19]) };
  } catch {
    return null;
  }
}

export function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function wchan(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

/** Every live descendant of `root` (not including root). */
export function descendants(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid)!.push(s);
  }
  const out: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

export interface CpuSeconds {
  user: number;
  sys: number;
}

/** CPU seconds (user, sys) a process spends from now on; sampled, as a CLI's /proc entry goes when it exits. */
export function cpuMeter(pid: number, fromZero = false): { stop(): CpuSeconds } {
  const read = (): CpuSeconds | null => {
    const s = procStat(pid);
    return s ? { user: s.utime / CLK_TCK, sys: s.stime / CLK_TCK } : null;
  };
  const start = fromZero ? { user: 0, sys: 0 } : (read() ?? { user: 0, sys: 0 });
  let last = start;
  const timer = setInterval(() => (last = read() ?? last), 25);
  return {
    stop() {
      clearInterval(timer);
      last = read() ?? last;
      return { user: round(last.user - start.user, 2), sys: round(last.sys - start.sys, 2) };
    },
  };
}

/** CPU seconds this (the bench's) process spends from now on. */
export function selfMeter(): { stop(): CpuSeconds } {
  const start = process.cpuUsage();
  return {
    stop() {
      const d = process.cpuUsage(start);
      return { user: round(d.user / 1e6, 2), sys: round(d.system / 1e6, 2) };
    },
  };
}

// ---- per-thread figures, for the GUI part (rfb-*.ts) ---------------------------------
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU seconds used so far by these processes: `total` to the nanosecond (the scheduler's
 * run time of every thread), and `system`, the kernel's part, in 10 ms ticks.
 */
export function cpuSeconds(pids: number[]): { total: number; system: number } {
  let ns = 0;
  let system = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      system += Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[12]);
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
        } catch {
          /* the thread ended */
        }
      }
    } catch {
      /* gone */
    }
  }
  return { total: ns / 1e9, system: system / 100 };
}

/** Read and write system calls made so far by these processes (every thread; /proc/PID/io). */
export function ioCalls(pids: number[]): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/io`, 'utf8');
      reads += Number(/^syscr: (\d+)/m.exec(text)?.[1] ?? 0);
      writes += Number(/^syscw: (\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return { reads, writes };
}
