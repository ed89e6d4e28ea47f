// What the lockstep coverage suite (issue 20) is made of: an app with a scripted
// session, and the steps a person takes in it. support/coverage-apps.ts lists the apps.
//
// A step is what a person does, then a pause (PAUSE_MS unless it says). A script
// never depends on timing for its result: each input is given after the previous
// one's effect would show on a person's screen.

/** One input: text typed (terminal: the bytes a terminal sends; GUI: key presses), a key by keysym, a pointer move or a click. */
export type Step =
  | { type: string; pause?: number }
  | { keysym: number; ctrl?: boolean; pause?: number }
  | { move: [number, number]; pause?: number }
  | { click: [number, number]; pause?: number }
  | { pause: number };

export interface CoverageApp {
  id: string;
  name: string;
  command: string;
  args?: string[];
  env?: Record<string, string>;
  /** A graphical app (RFB display of `geometry`); otherwise a terminal of 100×30. */
  gui?: { geometry: string };
  /** Debian package that has it (for the report when it is missing). */
  package: string;
  /** In CI's light run. */
  light?: boolean;
  /** Files (under the app's home) the script makes it save: compared across the failover and with the reference run. */
  files: string[];
  steps: Step[];
  /**
   * What a reference run on another host, at another moment, shows differently by
   * design (the time, random numbers): masked before comparing with it. Never masked
   * when comparing a replica with the replica it replaced — there everything must match.
   * 'everything': a reference run cannot show the same (a clock's face).
   */
  varies?: RegExp | 'everything';
  /** Why lockstep cannot keep it (the demo catalog runs such apps with failover: restart). */
  cannot?: string;
  /**
   * It moves on its own (an animation): the screen after the takeover is later than the
   * one before the kill, so only the standby checks (no divergence) and the files say
   * whether it was kept.
   */
  animates?: boolean;
  /** A standby placed after the kill must join (the test asserts it): its timers fast-forward (docs/cluster.md). */
  catchesUp?: boolean;
  /**
   * A terminal app's prompt (what its cursor's line ends with when it takes the next
   * command): each step waits for it, at most PROMPT_WAIT_MS, as a person does. Without
   * it, a command slower than the pause (git's commit on a loaded host) takes the next
   * line as type-ahead in one run and not in the other, and the screens differ by timing.
   */
  prompt?: RegExp;
}


export const PAUSE_MS = 250;
/** Each text typed as one step (a line). */
export const lines = (...texts: string[]): Step[] => texts.map((type) => ({ type }));
/** Each character typed as its own step. */
export const each = (text: string, pause?: number): Step[] => [...text].map((type) => ({ type, ...(pause ? { pause } : {}) }));
