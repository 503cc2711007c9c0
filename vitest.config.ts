import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'server/**/*.test.ts', 'protocol/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real servers on port 0; files run in parallel workers.
    pool: 'forks',
    // The process-based tests (test/herald-process.ts) run the server's bundle, as `npm start` does.
    globalSetup: ['test/global-setup.ts'],
  },
});
