// Where paratune keeps things between runs. PARATUNE_CACHE_DIR and PARATUNE_DATA_DIR override
// the platform defaults (tests point them at temporary folders).
import envPaths from "env-paths";
import { join } from "node:path";

const platform = envPaths("paratune", { suffix: "" });

/** Re-creatable things: synthetic models, probe results. */
export function cacheDir(...parts: string[]): string {
  return join(process.env.PARATUNE_CACHE_DIR || platform.cache, ...parts);
}

/** Things worth keeping: the store of past tunings. */
export function dataDir(...parts: string[]): string {
  return join(process.env.PARATUNE_DATA_DIR || platform.data, ...parts);
}
