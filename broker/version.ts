// The version this node runs (package.json's), for metrics, the membership record and
// the admin view. Found by walking up from this file: the same code runs from broker/
// (tests) and from the dist/broker bundle.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function find(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'holdfast' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        /* not ours */
      }
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

export const VERSION = find();
