#!/usr/bin/env node
// Thin launcher: the real CLI is bundled into dist/ by `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/broker/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('holdfast: not built yet; run "npm run build" in the project directory first\n');
  process.exit(1);
}
await import(cli);
