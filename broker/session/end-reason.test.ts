import { describe, expect, it } from 'vitest';
import { describeEnd, describeExit, describeWarning, formatDuration, inWords } from './end-reason.js';

describe('the words of an end', () => {
  it('says why a session policy ended it', () => {
    expect(describeEnd({ kind: 'idle', appName: 'Python', idleSeconds: 1800 })).toBe('Python ended because it was idle for 30 minutes.');
    expect(describeEnd({ kind: 'max-length', appName: 'Python', maxSeconds: 8 * 3600 })).toBe('Python ended because it reached its maximum length of 8 hours.');
  });

  it('warns in words, in whole minutes from a minute', () => {
    expect(describeWarning('idle', 'Python', 299.6, null)).toBe('Python ends in 5 minutes because it has been idle — press a key to keep it.');
    expect(describeWarning('max-length', 'Cat', 3, 6)).toBe('Cat ends in 3 seconds: it reaches its maximum length of 6 seconds. Save your work.');
  });

  it('says lengths as people do, and hold times past an hour as h:mm:ss', () => {
    expect(inWords(1)).toBe('1 second');
    expect(inWords(60)).toBe('1 minute');
    expect(inWords(5400)).toBe('1 hour 30 minutes');
    expect(inWords(90)).toBe('1 minute 30 seconds');
    expect(formatDuration(180)).toBe('3:00');
    expect(formatDuration(28_800)).toBe('8:00:00');
    expect(describeEnd({ kind: 'hold-expired', holdSeconds: 28_800 })).toBe('Your session ended: no client reconnected within 8:00:00 (the hold time).');
  });

  it('counts a GUI app’s failed start from when the app itself started, not its display (seconds under load)', () => {
    const context = { appName: 'Crasher', sandbox: 'default', inputSeq: 0, startedAt: Date.now() - 4000, lastWords: 'fatal: no font' };
    expect(describeExit({ exitCode: 3, signal: null, ranMs: 200 }, context)).toMatch(/^Crasher stopped right after it started \(exit code 3\): “fatal: no font”/);
    expect(describeExit({ exitCode: 3, signal: null, ranMs: 0 }, context)).toMatch(/^Crasher stopped right after it started/);
    expect(describeExit({ exitCode: 3, signal: null, ranMs: 60_000 }, context)).toBe('Crasher exited with code 3: “fatal: no font”.');
    // A terminal app has no display to wait for: the session's start is the app's.
    expect(describeExit({ exitCode: 3, signal: null }, { ...context, lastWords: undefined })).toBe('Crasher exited with code 3.');
  });
});
