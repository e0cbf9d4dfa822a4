// What a recorded landscape's `.meta.json` sidecar says about where it was recorded: the hardware
// profile and model files the roofline prior needs, and the landscape's parameters and objective.
// Shared by `paratune replay` (the bayes tuner's prior mean), `paratune replay --predict` and
// bench/models-accuracy.

import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UserInputError } from "./errors.js";
import type { HardwareProfile, ModelInfo } from "./types.js";

/** What the roofline needs to know about where a landscape was recorded. */
export interface LandscapeContext {
  hardware?: HardwareProfile;
  /** The file `hardware` was read from, when the sidecar names one. */
  hardwareFile?: string;
  models?: ModelInfo[];
  /** Average context per sequence during decode in the recording (prompt + half the generation). */
  contextTokens?: number;
  /** The parameter fields and objective, when the sidecar names them. */
  params?: string[];
  objective?: string;
  /** Other recordings of the same grid (absolute paths), when the sidecar names them in `replicates`. */
  replicates?: string[];
}

/** The sidecar of a landscape: `NAME.jsonl` -> `NAME.meta.json`. */
export function sidecarPath(landscapeFile: string): string {
  return landscapeFile.replace(/\.jsonl$/, "") + ".meta.json";
}

/**
 * Reads the sidecar `<landscape>.meta.json` next to a landscape, if any. Its `hardware` is a
 * HardwareProfile or the path of one (from `paratune probe --json`) relative to the sidecar;
 * `models` are ModelInfo objects, one per quant. A landscape without them can still be scored,
 * only without the roofline.
 */
export function loadLandscapeContext(landscapeFile: string): LandscapeContext {
  const metaFile = sidecarPath(landscapeFile);
  if (!existsSync(metaFile)) return {};
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(readFileSync(metaFile, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new UserInputError(`cannot read ${metaFile}: ${(err as Error).message}`, "the sidecar must be one JSON object");
  }
  const out: LandscapeContext = {};
  if (typeof meta.hardware === "string") {
    const file = resolve(dirname(metaFile), meta.hardware);
    try {
      out.hardware = JSON.parse(readFileSync(file, "utf8")) as HardwareProfile;
    } catch (err) {
      throw new UserInputError(`cannot read the hardware profile ${file} named by ${metaFile}: ${(err as Error).message}`);
    }
    out.hardwareFile = file;
  } else if (meta.hardware && typeof meta.hardware === "object" && "cpu" in meta.hardware) {
    out.hardware = meta.hardware as HardwareProfile;
  }
  if (Array.isArray(meta.models) && meta.models.every((m) => m && typeof m === "object" && "weightBytes" in m)) out.models = meta.models as ModelInfo[];
  if (typeof meta.contextTokens === "number") out.contextTokens = meta.contextTokens;
  if (Array.isArray(meta.params)) out.params = meta.params.map(String);
  if (typeof meta.objective === "string") out.objective = meta.objective;
  if (meta.replicates !== undefined) {
    const named = typeof meta.replicates === "string" ? [meta.replicates] : meta.replicates;
    if (!Array.isArray(named) || !named.every((r): r is string => typeof r === "string" && r !== "")) {
      throw new UserInputError(`${metaFile}: "replicates" must be a landscape file name or a list of them`, "paths are relative to the sidecar");
    }
    // The landscape itself is no second recording of itself; a file named twice counts once.
    const self = resolve(landscapeFile);
    const files = [...new Set(named.map((r) => resolve(dirname(metaFile), r)))].filter((f) => f !== self);
    if (files.length > 0) out.replicates = files;
  }
  return out;
}
