import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code; integration, end-to-end and CLI tests live in test/.
// Integration tests start real nodes (port 0), real bubblewrap and real PTYs.
export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'broker/**/*.test.ts', 'main/**/*.test.ts', 'renderer/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
