import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The console's page, built once for every test that starts the local pipeline (tests/global-setup.ts).
    globalSetup: ['tests/global-setup.ts'],
    // Integration tests start their own moto_server; give CreateStack and the emulator room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
  },
});
