import { defineConfig } from "vitest/config";
import type { Reporter } from "vitest/reporters";

// Prints one plain closing line ("N passed, N failed, N skipped") that CI systems read.
const summary: Reporter = {
  onFinished(files) {
    let passed = 0, failed = 0, skipped = 0;
    const walk = (tasks: any[]) => {
      for (const t of tasks) {
        if (t.type === "test") {
          const s = t.result?.state;
          if (s === "pass") passed++;
          else if (s === "fail") failed++;
          else skipped++;
        }
        if (t.tasks) walk(t.tasks);
      }
    };
    walk(files ?? []);
    const fileFailures = (files ?? []).filter((f: any) => f.result?.state === "fail" && !f.tasks?.length).length;
    process.stdout.write(`\ntests: ${passed} passed, ${failed + fileFailures} failed, ${skipped} skipped\n`);
  },
};

export default defineConfig({
  test: {
    include: ["{src,probes,models,tuners,fixtures,examples}/**/*.test.ts"],
    // Trials spawn real processes and load real models: keep files serial so that
    // two suites never compete for the two CI cores and distort each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default", summary],
  },
});
