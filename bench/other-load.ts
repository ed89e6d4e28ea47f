// Other load on the machine: how busy it is before the bench starts, and how much CPU
// processes that are not the bench's own use while a part runs — a gauge of how skewed
// that part's numbers are.
import { readFileSync, readdirSync } from 'node:fs';
import { descendants, procStat } from './proc.js';
import { seenDescendants } from './processes.js';
import { round } from './stats.js';
import { sleep } from './timing.js';

/** Share of all CPUs busy over `ms` (this process idles meanwhile): other load skews every number. */
export async function machineBusy(ms = 1000): Promise<number> {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3]! + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return round(1 - (b.idle - a.idle) / Math.max(1, b.total - a.total), 3);
}

/**
 * CPU used on this machine by other processes while a part runs, as a share of all
 * CPUs: a gauge of how skewed that part's numbers are. Counted per process (CPU of
 * reaped children included): everything except the bench's own tree, kernel threads
 * (PTYs do part of their work in kworkers, on our behalf) and sandbox processes that
 * our nodes killed and init inherited.
 */
const BENCH_START = procStat(process.pid)?.starttime ?? 0;
interface Foreign {
  comm: string;
  ppid: number;
  ticks: number;
  start: number;
}
function cpuSnapshot(): { total: number; foreign: Map<number, Foreign> } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const all = new Map<number, Foreign>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      all.set(Number(name), { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), start: Number(f[19]) });
    } catch {
      /* gone */
    }
  }
  const ours = new Set([process.pid]);
  for (const d of descendants(process.pid)) ours.add(d.pid);
  const foreign = new Map<number, Foreign>();
  for (const [pid, p] of all) {
    if (ours.has(pid) || pid === 2 || p.ppid === 2) continue;
    if (p.ppid === 1 && p.start >= BENCH_START && (seenDescendants.has(pid) || nestedPidNs(pid))) continue;
    foreign.set(pid, p);
  }
  return { total: line.reduce((x, y) => x + y, 0), foreign };
}

function nestedPidNs(pid: number): boolean {
  try {
    const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && m[1]!.trim().split(/\s+/).length > 1;
  } catch {
    return false;
  }
}

export interface OtherLoad {
  foreign: number;
  top: string[];
}

/** Starts counting; the function it returns says what others used since. */
export function interferenceMeter(): () => OtherLoad {
  const a = cpuSnapshot();
  return () => {
    const b = cpuSnapshot();
    let ticks = 0;
    const byName = new Map<string, number>();
    for (const [pid, p] of b.foreign) {
      const before = a.foreign.get(pid);
      const used = before && before.start === p.start ? p.ticks - before.ticks : p.ticks;
      ticks += used;
      if (used > 0) byName.set(p.comm, (byName.get(p.comm) ?? 0) + used);
    }
    const all = Math.max(1, b.total - a.total);
    const top = [...byName].sort((x, y) => y[1] - x[1]).slice(0, 5).map(([comm, t]) => `${comm} ${Math.round((100 * t) / all)}%`);
    return { foreign: round(Math.max(0, ticks) / all, 3), top };
  };
}
