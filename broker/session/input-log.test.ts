// The input log at unit level, with a fake display and replication: each input is
// applied once, in order; it is acknowledged only once settled; a standby applies what
// its primary applied, paced by output; lockstep entries carry the primary's time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogEntry } from '../cluster/peer-protocol.js';
import { InputLog, type InputLogOptions } from './input-log.js';
import type { ReplicationSink } from './log-target.js';
import { SpooledChunks } from './log-spool.js';

function setup(overrides: Partial<InputLogOptions> = {}, kind: 'terminal' | 'rfb' = 'terminal') {
  const done: string[] = [];
  /** File operations the test holds open (an upload's end): resolved by the test. */
  const holding: Array<() => void> = [];
  let output = 0;
  /** The app's terminal mode changes (undefined: not counted, as for an app without the lockstep shim). */
  let modes: number | undefined;
  /** The app's process clocks (null: none, as without the lockstep shim), and whether a fast-forwarding standby's are behind its primary's. */
  let clocks: Map<number, number> | null = null;
  let behind = false;
  const settled: Array<{ previous: number; typed: boolean }> = [];
  const log = new InputLog({
    role: 'primary',
    target: {
      kind,
      ready: () => true,
      checkInput: (data) => (data.length > 4 ? 'too long' : null),
      setClock: (time) => done.push(`clock ${time}`),
      modes: () => modes,
      processClocks: () => (clocks ? new Map(clocks) : null),
      clocksBehind: () => behind,
      forgetClocks: () => {
        behind = false;
        done.push('forget clocks');
      },
      write: (data) => done.push(`write ${Buffer.from(data).toString()}`),
      microphone: (packet) => done.push(`microphone ${[...packet].join(',')}`),
      resize: (cols, rows) => done.push(`resize ${cols}x${rows}`),
      file: (op, data) => {
        done.push(`file ${op.op} ${op.upload}${data ? ` ${Buffer.from(data).toString()}` : ''}`);
        return op.op === 'end' ? new Promise<void>((resolve) => holding.push(resolve)) : null;
      },
    },
    replication: null,
    outputBytes: () => output,
    mayAct: () => true,
    keepLog: true,
    inputBase: 0,
    stampTime: false,
    onApplied: () => {},
    onSettled: (previous, typed) => settled.push({ previous, typed }),
    ...overrides,
  });
  return {
    log,
    done,
    settled,
    holding,
    produce: (bytes: number) => log.outputProduced((output += bytes)),
    setModes: (count: number) => (modes = count),
    setClocks: (now: Map<number, number> | null) => (clocks = now),
    setBehind: (now: boolean) => (behind = now),
  };
}

const entry = (index: number, data: string | null, after?: number): LogEntry => ({ index, seq: data ? index : 0, data: data ? Buffer.from(data) : null, cols: data ? 0 : 100, rows: data ? 0 : 30, after });

afterEach(() => vi.useRealTimers());

describe('InputLog on a primary', () => {
  it('takes input typed through a share link once per tab, tagged with who typed it, apart from the owner\'s numbering', () => {
    const { log, done } = setup();
    log.input(1, Buffer.from('a'));
    expect(log.inputBy('bob', 'tab-1', 1, Buffer.from('b'))).toEqual({ index: 2 });
    // A resend after a reconnect is taken once; a gap is refused; another tab numbers its own.
    expect(log.inputBy('bob', 'tab-1', 1, Buffer.from('b'))).toEqual({ index: 0 });
    expect(log.inputBy('bob', 'tab-1', 3, Buffer.from('c'))).toEqual({ problem: 'input 3 arrived before input 2' });
    expect(log.inputBy('carol', 'tab-2', 1, Buffer.from('d'))).toEqual({ index: 3 });
    expect(log.inputBy('bob', 'tab-1', 2, Buffer.from('toolong'))).toEqual({ problem: 'input 2: too long' });
    log.input(2, Buffer.from('e'));
    expect(done).toEqual(['write a', 'write b', 'write d', 'write e']);
    expect(log.entries.map((e) => [e.seq, e.by?.user ?? 'owner'])).toEqual([[1, 'owner'], [0, 'bob'], [0, 'carol'], [2, 'owner']]);
    expect([log.inputSeq, log.tabSeq('tab-1'), log.tabSeq('tab-2'), log.tabSeq('tab-3')]).toEqual([2, 1, 1, 0]);
  });

  it('logs the microphone like input, without numbering or counting it as typing, and keeps no sound once settled', () => {
    const { log, done, settled } = setup({ stampTime: true });
    log.microphone(Uint8Array.of(1, 2));
    log.input(1, Buffer.from('a'));
    log.microphone(Uint8Array.of(3));
    expect(done.filter((d) => !d.startsWith('clock'))).toEqual(['microphone 1,2', 'write a', 'microphone 3']);
    // Lockstep: each is stamped like input (the app's clock moves), with no terminal bytes.
    expect(log.entries.every((e) => e.time !== undefined)).toBe(true);
    expect([log.inputSeq, log.entries.map((e) => e.seq)]).toEqual([1, [0, 1, 0]]);
    expect(settled).toEqual([{ previous: 0, typed: false }, { previous: 1, typed: true }, { previous: 2, typed: false }]);
    // A replica that starts later replays the packets as nothing.
    expect(log.entriesAfter(0).map((e) => [e.microphone ?? false, e.data?.length])).toEqual([[true, 0], [false, 1], [true, 0]]);
  });

  it('gives a standby\'s app the primary\'s microphone packets as they commit', () => {
    const { log, done } = setup({ role: 'standby' });
    log.appendFromPrimary([{ index: 1, seq: 0, data: Uint8Array.of(9, 9), cols: 0, rows: 0, microphone: true }]);
    expect(done).toEqual([]);
    log.commitThrough(1);
    expect(done).toEqual(['microphone 9,9']);
  });

  it('knows, once promoted, what each tab had typed through a share link (its resend is taken once)', () => {
    const { log } = setup({ role: 'standby' });
    log.appendFromPrimary([{ index: 1, seq: 0, data: Buffer.from('x'), cols: 0, rows: 0, by: { user: 'bob', tab: 'tab-1', seq: 4 } }]);
    log.promote();
    expect(log.tabSeq('tab-1')).toBe(4);
    expect(log.inputBy('bob', 'tab-1', 4, Buffer.from('x'))).toEqual({ index: 0 });
  });

  it('moves a settled chunk\'s bytes to the spool and reads them back for a replay, keystrokes untouched', () => {
    const kept = new Map<number, Uint8Array>();
    const store = { put: (data: Uint8Array) => (kept.set(kept.size, Buffer.from(data)), { offset: kept.size - 1, length: data.length }), get: (ref: { offset: number }) => kept.get(ref.offset)!, close: () => {} };
    const { log, done } = setup({ spool: new SpooledChunks(store) });
    const begin = log.file({ op: 'begin', upload: 0, path: 'a.txt', size: 2 });
    log.file({ op: 'chunk', upload: begin, offset: 0 }, Buffer.from('hi'));
    log.input(1, Buffer.from('x'));
    expect(done).toEqual(['file begin 1', 'file chunk 1 hi', 'write x']);
    // Written to the app first, then out of memory.
    expect(log.entries[1]!.data).toBeNull();
    expect(log.entries[2]!.data).toEqual(Buffer.from('x'));
    expect(kept.size).toBe(1);
    const replay = log.entriesAfter(0);
    expect(replay.map((e) => (e.data ? Buffer.from(e.data).toString() : null))).toEqual([null, 'hi', 'x']);
    expect(replay[1]!.file).toEqual({ op: 'chunk', upload: 1, offset: 0 });
  });

  it('keeps a chunk\'s bytes in memory when the spool cannot take them (a full disk)', () => {
    const { log } = setup({ spool: new SpooledChunks({ put: () => null, get: () => new Uint8Array(0), close: () => {} }) });
    const begin = log.file({ op: 'begin', upload: 0, path: 'a.txt', size: 2 });
    log.file({ op: 'chunk', upload: begin, offset: 0 }, Buffer.from('hi'));
    expect(log.entriesAfter(1).map((e) => Buffer.from(e.data!).toString())).toEqual(['hi']);
  });

  it('applies an upload among the input, and holds what follows its end until the file is in place', async () => {
    const { log, done, settled, holding } = setup();
    const begin = log.file({ op: 'begin', upload: 0, path: 'a.txt', size: 2 });
    expect(begin).toBe(1);
    log.input(1, Buffer.from('x'));
    log.file({ op: 'chunk', upload: begin, offset: 0 }, Buffer.from('hi'));
    const end = log.file({ op: 'end', upload: begin });
    log.input(2, Buffer.from('y'));
    // The chunk is no keystroke: the settle after it does not count as typed.
    expect(settled.find((s) => s.previous === 2)).toEqual({ previous: 2, typed: false });
    expect(done).toEqual(['file begin 1', 'write x', 'file chunk 1 hi', 'file end 1']);
    expect(log.appliedIndex).toBe(end - 1);
    let applied = false;
    void log.whenApplied(end).then(() => (applied = true));
    await Promise.resolve();
    expect(applied).toBe(false);
    holding.shift()!();
    await log.whenApplied(end + 1);
    expect(done.at(-1)).toBe('write y');
    expect(log.inputSeq).toBe(2);
    // An end with nothing after it settles on its own (the person waits for it, not for a keystroke).
    const last = log.file({ op: 'end', upload: begin });
    holding.shift()!();
    await log.whenSettled(last);
    expect(log.settledIndex).toBe(last);
  });

  it('applies each input once, in order, and refuses a gap or bytes the display cannot take', () => {
    const { log, done, settled } = setup();
    expect(log.input(1, Buffer.from('a'))).toBeNull();
    expect(log.input(1, Buffer.from('a'))).toBeNull(); // resent after a reconnect: already taken
    expect(log.input(3, Buffer.from('c'))).toBe('input 3 arrived before input 2');
    expect(log.input(2, Buffer.from('toolong'))).toBe('input 2: too long');
    expect(log.input(2, Buffer.from('b'))).toBeNull();
    log.resize(100, 30);
    expect(done).toEqual(['write a', 'write b', 'resize 100x30']);
    expect(log.inputSeq).toBe(2);
    expect(settled.at(-1)).toEqual({ previous: 2, typed: false });
  });

  it('applies at once but acknowledges only what every standby holds (the output rule)', () => {
    const sent: number[] = [];
    const applied: number[] = [];
    const replication: ReplicationSink = { append: (e) => (sent.push(e.index), true), applied: (entries) => applied.push(...entries.map((e) => e.index)) };
    const { log, done } = setup({ replication });
    log.input(1, Buffer.from('a'));
    log.input(2, Buffer.from('b'));
    expect(done).toEqual(['write a', 'write b']);
    expect(sent).toEqual([1, 2]);
    expect([log.appliedIndex, log.settledIndex, log.inputSeq]).toEqual([2, 0, 0]);
    log.commitThrough(1);
    expect([log.settledIndex, log.inputSeq]).toEqual([1, 1]);
    expect(applied).toEqual([1]);
    log.commitThrough(2);
    expect(applied).toEqual([1, 2]);
  });

  it('stamps lockstep entries with strictly increasing times and sets the clock before each is applied', () => {
    const { log, done } = setup({ stampTime: true });
    log.input(1, Buffer.from('a'));
    log.input(2, Buffer.from('b'));
    const [first, second] = log.entries.map((e) => e.time!);
    expect(second).toBeGreaterThan(first!);
    expect(Math.abs(first! / 1000 - Date.now())).toBeLessThan(1000);
    expect(done).toEqual([`clock ${first}`, 'write a', `clock ${second}`, 'write b']);
  });

  it('records on each lockstep entry the process clocks that changed since the previous one, read before it is applied', () => {
    const { log, setClocks } = setup({ stampTime: true });
    setClocks(new Map([[1, 100], [2, 50]]));
    log.input(1, Buffer.from('a'));
    setClocks(new Map([[1, 100], [2, 80], [3, 10]]));
    log.input(2, Buffer.from('b'));
    log.input(3, Buffer.from('c'));
    expect(log.entries.map((e) => e.clocks)).toEqual([[[1, 100], [2, 50]], [[2, 80], [3, 10]], undefined]);
  });

  it('records no clocks where the log is not kept or the app has none', () => {
    const unkept = setup({ stampTime: true, keepLog: false });
    unkept.setClocks(new Map([[1, 100]]));
    unkept.log.input(1, Buffer.from('a'));
    const none = setup({ stampTime: true });
    none.log.input(1, Buffer.from('a'));
    expect([unkept.log.entries[0]!.clocks, none.log.entries[0]!.clocks]).toEqual([undefined, undefined]);
  });
});

describe('InputLog on a standby', () => {
  it('holds entries until the primary applied them, then applies them in order', () => {
    const { log, done } = setup({ role: 'standby' });
    expect(log.appendFromPrimary([entry(1, 'a'), entry(2, 'b')])).toBe(2);
    expect(log.appendFromPrimary([entry(2, 'b')])).toBe(2); // a resend: held already
    expect(done).toEqual([]);
    log.primaryApplied(1, [{ after: 0 }]);
    expect(done).toEqual(['write a']);
    log.primaryApplied(2, [{ after: 0 }]);
    expect(done).toEqual(['write a', 'write b']);
  });

  it('gives a keystroke to its app only once the app has set its terminal’s mode as often as the primary’s had', () => {
    vi.useFakeTimers();
    const { log, done, produce, setModes } = setup({ role: 'standby' });
    setModes(3);
    // Enter, then keys typed while the primary's app ran the command: its line editor had
    // echoed the newline and handed the terminal back (4 mode changes, not 3).
    log.appendFromPrimary([{ ...entry(1, '\r', 10), modes: 3 }, { ...entry(2, 'ls', 12), modes: 4 }], true);
    produce(10);
    expect(done).toEqual(['write \r']);
    produce(2); // the newline's echo: the output is there, the mode change is not yet
    vi.advanceTimersByTime(20);
    expect(done).toEqual(['write \r']);
    setModes(4);
    vi.advanceTimersByTime(2);
    expect(done).toEqual(['write \r', 'write ls']);
    // Counted from the previous entry, as output is: the next waits for one more change.
    log.appendFromPrimary([{ ...entry(3, 'x', 12), modes: 5 }], true);
    vi.advanceTimersByTime(1499);
    expect(done).toEqual(['write \r', 'write ls']);
    vi.advanceTimersByTime(2); // and at most REPLAY_MAX_WAIT_MS, like output: an app that never does goes on
    expect(done).toEqual(['write \r', 'write ls', 'write x']);
    expect(log.entries[1]!.modes).toBe(4); // the entry records this replica's own count, for its standbys if promoted
  });

  it('fast-forwarding, applies the next entry only once its app’s processes reached the primary’s clocks', () => {
    vi.useFakeTimers();
    const { log, done, setBehind } = setup({ role: 'standby' });
    setBehind(true);
    log.appendFromPrimary([entry(1, 'a'), entry(2, 'b')], true);
    vi.advanceTimersByTime(100);
    expect(done).toEqual([]);
    setBehind(false);
    vi.advanceTimersByTime(2);
    expect(done).toEqual(['write a', 'write b']);
    // A process that never gets there (another pid here, or diverged) holds the log back a
    // second, then is forgotten: it holds back no later entry.
    setBehind(true);
    log.appendFromPrimary([entry(3, 'c')], true);
    vi.advanceTimersByTime(990);
    expect(done).toEqual(['write a', 'write b']);
    vi.advanceTimersByTime(12);
    expect(done).toEqual(['write a', 'write b', 'forget clocks', 'write c']);
  });

  it('waits for its app to answer as the primary’s had before the next input, counting from the previous input', () => {
    vi.useFakeTimers();
    const { log, done, produce } = setup({ role: 'standby' });
    // The primary's app wrote 10 bytes before input 1, 5 more before input 2, 5 more before input 3.
    log.appendFromPrimary([entry(1, 'a', 10), entry(2, 'b', 15), entry(3, 'c', 20)], true);
    expect(done).toEqual([]);
    produce(10);
    expect(done).toEqual(['write a']);
    // This replica's app answers with 3 bytes, not 5 (it erased a preview the primary's kept):
    produce(3);
    vi.advanceTimersByTime(1500); // one wait, at most REPLAY_MAX_WAIT_MS…
    expect(done).toEqual(['write a', 'write b']);
    // …and none after it: 5 bytes since input 2 are enough, though the total (18) is short of the primary's 20.
    produce(5);
    expect(done).toEqual(['write a', 'write b', 'write c']);
  });

  it('replaying timed entries faster than the primary ran, waits for output until each falls due as the primary spaced it', () => {
    vi.useFakeTimers();
    const { log, done, produce } = setup({ role: 'standby', stampTime: true });
    const timed = (index: number, data: string, after: number, seconds: number): LogEntry => ({ ...entry(index, data, after), time: 1e15 + seconds * 1e6 });
    // Input 2 came 4 s after input 1 on the primary, after its app's background job printed 6 bytes.
    log.appendFromPrimary([timed(1, 'a', 0, 0), timed(2, 'b', 6, 4), timed(3, 'c', 10, 20)], true);
    expect(done).toEqual([`clock ${1e15}`, 'write a']);
    vi.advanceTimersByTime(2000); // past REPLAY_MAX_WAIT_MS, but input 2 is not due yet: the job may still print
    expect(done).toHaveLength(2);
    produce(6); // it printed: input 2 goes at once
    expect(done.slice(2)).toEqual([`clock ${1e15 + 4e6}`, 'write b']);
    // Input 3 is due 16 s on, but waits 10 s at most for output that never comes.
    vi.advanceTimersByTime(9_000);
    expect(done).toHaveLength(4);
    vi.advanceTimersByTime(1_500);
    expect(done.slice(4)).toEqual([`clock ${1e15 + 20e6}`, 'write c']);
  });

  it('replays a graphical app’s timed entries as the primary spaced them, each pause cut to a second', () => {
    vi.useFakeTimers();
    const { log, done } = setup({ role: 'standby', stampTime: true }, 'rfb');
    const timed = (index: number, data: string, seconds: number): LogEntry => ({ ...entry(index, data), time: 1e15 + seconds * 1e6 });
    // Pointer moves 0.25 s apart, then one 30 s later.
    log.appendFromPrimary([timed(1, 'a', 0), timed(2, 'b', 0.25), timed(3, 'c', 0.5), timed(4, 'd', 30.5)], true);
    expect(done).toEqual([`clock ${1e15}`, 'write a']);
    vi.advanceTimersByTime(249);
    expect(done).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(done).toHaveLength(4);
    vi.advanceTimersByTime(250);
    expect(done).toHaveLength(6);
    vi.advanceTimersByTime(999); // the 30 s pause, cut to 1 s
    expect(done).toHaveLength(6);
    vi.advanceTimersByTime(1);
    expect(done.slice(6)).toEqual([`clock ${1e15 + 30.5e6}`, 'write d']);
  });
});
