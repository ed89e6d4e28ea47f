// Reads the machine policy an administrator installed. No file: an everyday desktop.
// A file that cannot be read or parsed is never ignored: the shell shows what is
// wrong and runs nothing else, so a broken kiosk policy cannot leave a machine unlocked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MachinePolicy, POLICY_PATHS, describeIssues, type PolicyProblem } from '../shared/policy.js';

export type PolicyResult = { kind: 'none'; file: string } | { kind: 'ok'; file: string; policy: MachinePolicy } | { kind: 'invalid'; file: string; problem: PolicyProblem };

/**
 * The policy file's path on this platform. `override` (HOLDFAST_POLICY_FILE) is
 * honoured only for unpackaged runs — tests and development — never in an installed app,
 * where it would let anyone start a kiosk without its policy.
 */
export function policyPath(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, packaged: boolean): string {
  if (!packaged && env.HOLDFAST_POLICY_FILE) return env.HOLDFAST_POLICY_FILE;
  if (platform === 'win32') return join(env.ProgramData ?? 'C:\\ProgramData', 'Holdfast', 'policy.json');
  if (platform === 'darwin') return POLICY_PATHS.darwin;
  return POLICY_PATHS.linux;
}

export function loadPolicy(file: string): PolicyResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none', file };
    return invalid(file, [`the file cannot be read (${code ?? String(error)})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return invalid(file, [`the file is not valid JSON: ${error instanceof Error ? error.message : String(error)}`]);
  }
  const parsed = MachinePolicy.safeParse(raw);
  if (!parsed.success) return invalid(file, describeIssues(parsed.error));
  return { kind: 'ok', file, policy: parsed.data };
}

function invalid(file: string, problems: string[]): PolicyResult {
  return { kind: 'invalid', file, problem: { file, problems } };
}
