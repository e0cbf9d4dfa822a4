import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{src,probes,models,tuners,fixtures}/**/*.test.ts"],
    // Trials spawn real processes and load real models: keep files serial so that
    // two suites never compete for the two CI cores and distort each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
