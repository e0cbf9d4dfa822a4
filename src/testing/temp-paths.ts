// Test support (not part of the build): points paratune's cache and data folders at a fresh
// temporary folder for one test file, and puts the environment back afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

const VARS = { cache: "PARATUNE_CACHE_DIR", data: "PARATUNE_DATA_DIR" } as const;

/**
 * Registers beforeAll/afterAll hooks; `root()` is the temporary folder once the hooks have run.
 * `layout` "shared" points both variables at the root itself, "split" at root/cache and root/data.
 */
export function useTempPaths(prefix: string, layout: "shared" | "split" = "split"): { root: () => string } {
  let dir = "";
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    for (const [name, variable] of Object.entries(VARS)) {
      saved[variable] = process.env[variable];
      process.env[variable] = layout === "shared" ? dir : join(dir, name);
    }
  });
  afterAll(() => {
    for (const variable of Object.values(VARS)) {
      if (saved[variable] === undefined) delete process.env[variable];
      else process.env[variable] = saved[variable];
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { root: () => dir };
}
