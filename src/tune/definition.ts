// What defines a tuning study: the workload, the search space's options and the tuner. study.json
// keeps it, so that --resume needs nothing but the folder and cannot change the question asked.

import { UserInputError } from "../errors.js";
import { parseParamSpec } from "../space.js";

export interface StudyDefinition {
  /** GGUF files, one per quantization variant of one model. */
  models?: string[];
  /** Synthesise a model of this preset shape (the default when neither models nor command is given). */
  shape?: string;
  /** Quantizations to synthesise. */
  quants?: string[];
  /** Command workload: a shell command with {name} placeholders... */
  command?: string;
  /** ...and the values of each placeholder, as `parseParamSpec` reads them ("1,2,4" or "1..8"). */
  params?: Record<string, string>;
  /** Environment variables the command runs with; values may hold placeholders (OMP_NUM_THREADS={t}). */
  env?: Record<string, string>;
  /** Regular expression with one group that finds the metric in the output, or "wall". */
  metric?: string;
  direction?: "maximize" | "minimize";
  /** Timed repetitions per full trial (command: default 3; llama: default 3). */
  reps?: number;

  tuner?: string;
  objective?: "throughput" | "latency";
  seed?: number;
  oversubscribe?: boolean;
  maxSequences?: number;
  batchSizes?: number[];
  promptTokens?: number;
  genTokens?: number;
  /** Throughput whose time per output token (p95, ms) stays under this; none: plain throughput. */
  maxLatencyMs?: number;
}

/** The options --resume must not change: a different value would make a different study. */
export const DEFINING_KEYS: (keyof StudyDefinition)[] = [
  "models", "shape", "quants", "command", "params", "env", "metric", "direction", "reps", "objective",
  "oversubscribe", "maxSequences", "batchSizes", "promptTokens", "genTokens", "maxLatencyMs",
];

export function pickDefinition(o: StudyDefinition): StudyDefinition {
  const def: StudyDefinition = {};
  for (const key of [...DEFINING_KEYS, "tuner", "seed"] as (keyof StudyDefinition)[]) {
    if (o[key] !== undefined) (def as Record<string, unknown>)[key] = o[key];
  }
  if (def.command && (def.models || def.shape || def.quants)) {
    throw new UserInputError("--cmd tunes a command; --model, --shape and --quant tune a llama model", "give one or the other");
  }
  if (def.models && def.shape) throw new UserInputError("--model and --shape both say which model to tune", "give one of them");
  if (def.maxLatencyMs !== undefined && def.command) throw new UserInputError("--max-latency bounds a model's time per output token", "use it without --cmd");
  if (def.maxLatencyMs !== undefined && def.objective === "latency") throw new UserInputError("--max-latency goes with the throughput objective", "leave out --objective latency");
  if (def.env && !def.command) throw new UserInputError("--env sets variables of a command", 'use it with --cmd, e.g. --cmd "./prog" --env OMP_NUM_THREADS={t}');
  // A malformed --param is refused before the probe spends seconds and the folder is created.
  for (const [name, spec] of Object.entries(def.params ?? {})) parseParamSpec(name, spec);
  return def;
}
