// A user name chosen to attack whoever reads the logs (issue 21, item 11): a C1 CSI that
// a terminal obeys, DEL, and a right-to-left override. The node log and the audit log
// must carry it escaped — and still decode to the same name.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAuditLog } from './audit.js';
import { createLogger } from './log.js';

const NAME = 'ann\u009b2J\u007f\u202egnp.exe\u2066x\u2028y';
const RAW = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
const dir = mkdtempSync(join(tmpdir(), 'holdfast-log-line-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('log lines and people’s names', () => {
  it('the node log escapes C1 controls, DEL, separators and bidi overrides, and the line still parses to the name', () => {
    const lines: string[] = [];
    const log = createLogger({ node: 'n1' }, 'info', { write: (line: string) => void lines.push(line) });
    log.warn('sign-in failed', { user: NAME });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(RAW);
    expect(lines[0]).toContain('\\u009b2J');
    expect(JSON.parse(lines[0]!).user).toBe(NAME);
  });

  it('so does the audit log', () => {
    const file = join(dir, 'audit.log');
    const audit = openAuditLog(file, 'n1', (error) => {
      throw error;
    });
    audit.record('sign-in.failed', { user: NAME });
    audit.close();
    const line = readFileSync(file, 'utf8').trim();
    expect(line).not.toMatch(RAW);
    expect(JSON.parse(line).user).toBe(NAME);
  });
});
