// Process entry for the `holdfast` command (bundled to dist/broker/cli.js).
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Leave once output is flushed, even if a stray handle lingers.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (error: unknown) => {
    process.stderr.write(`holdfast: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(70);
  },
);
