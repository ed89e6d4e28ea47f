// A node config file's text for the config tests (broker/config/*.test.ts): the least
// that parses — one user, one app — to which a test appends the section it is about,
// and the problems a text has, as parseConfig reports them ('' when it has none).
import { parseConfig } from '../broker/config/load.js';

const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
export const CONFIG_BASE = `users:\n  - name: ann\n    passwordHash: ${hash}\n    groups: [staff]\napps:\n  - id: shell\n    name: Shell\n    command: /bin/bash\n`;

export function configProblems(text: string): string {
  try {
    parseConfig(text, 'n.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}
