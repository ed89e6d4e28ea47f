// A session's id: 128 random bits in base64url — never starting with "-", which a
// command line takes for an option: `holdfast cp --session -Xy…` was refused as an
// ambiguous option (util.parseArgs), one launch in 64, and the CLI's own hint
// ("say which with --session: --session ID") led a person straight into it.
import { randomBytes } from 'node:crypto';

export function newSessionId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
