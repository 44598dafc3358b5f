import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each file makes its own database; two cores, so two files at a time.
    maxWorkers: 2,
  },
});
