// Where synthesize() keeps a model in the cache, worked out without loading the GGUF writer (whose
// type ids come from node-llama-cpp, seconds to import on the 2-core VM): recommend()'s store hit
// only needs to find the file it synthesised before.

import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { presetShape, type ModelShape } from "../fixtures/gguf/shapes.js";
import { cacheDir } from "./paths.js";

/** Bump when the bytes a given shape and type produce change, so stale cache entries are not reused. */
export const GENERATOR_VERSION = 1;

/**
 * The shape `paratune tune` synthesises when given no model. Chosen so that the default
 * one-minute budget on 2 cores runs a useful number of trials: big enough that decode is memory-
 * and compute-bound like a real model (not dominated by per-token overhead), small enough that a
 * worker loads it in well under a second. Measurements in docs/measurements/2026-11-25-tuning.md.
 */
export const DEFAULT_SHAPE = "qwen2.5-0.5b";
export const DEFAULT_QUANTS = ["q4_0"];

/** The cache file name of a shape in a file type (its lower-case name, e.g. "q4_k_m"). */
export function cacheKey(shape: ModelShape, quant: string): string {
  const h = createHash("sha256").update(JSON.stringify({ v: GENERATOR_VERSION, shape, quant })).digest("hex");
  const slug = shape.name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "model";
  return `${slug}-${quant}-${h.slice(0, 10)}.gguf`;
}

/**
 * Where synthesize() keeps (or would write) a preset shape in a file type, without planning the
 * model: the name hashes the generator version, shape and type, and files land there only by an
 * atomic rename, so a file at this path is that model, whole. Null for a shape that is not a
 * preset (a .gguf or config.json to copy): only synthesize() can resolve those.
 */
export function syntheticModelPath(shapeName: string, quant: string, outDir?: string): string | null {
  const shape = presetShape(shapeName);
  if (!shape) return null;
  return join(resolve(outDir ?? cacheDir("models")), cacheKey(shape, quant.trim().toLowerCase()));
}
