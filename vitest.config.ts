import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The default report, then one plain closing line of counts (see the reporter).
    reporters: ['default', './test/support/summary-reporter.ts'],
    // End-to-end tests spawn the CLI and build git repositories: give slow machines room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
