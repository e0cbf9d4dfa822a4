// The tuners by name, for the CLI, the study and the replay benchmark.

import { UserInputError } from "../src/errors.js";
import type { Config, SearchSpace, Tuner } from "../src/types.js";
import { BayesTuner } from "./bayes.js";
import { GridTuner } from "./grid.js";
import { RandomTuner } from "./random.js";

export { BayesTuner, type BayesOptions } from "./bayes.js";
export { GridTuner, gridOrder } from "./grid.js";
export { RandomTuner } from "./random.js";
export { expectedImprovement } from "./acquisition.js";
export { maximinDesign } from "./space-filling.js";

export const TUNER_NAMES = ["bayes", "random", "grid"] as const;
export type TunerName = (typeof TUNER_NAMES)[number];

export interface TunerOptions {
  /** Seed for every random choice the tuner makes; the same seed repeats the same run. */
  seed?: number;
  /** Prior belief of the objective (larger is better); only the bayes tuner uses it. */
  priorMean?: (config: Config) => number;
}

export function createTuner(name: string, space: SearchSpace, options: TunerOptions = {}): Tuner {
  switch (name) {
    case "bayes":
      return new BayesTuner(space, { seed: options.seed, priorMean: options.priorMean });
    case "random":
      return new RandomTuner(space, options.seed);
    case "grid":
      return new GridTuner(space);
    default:
      throw new UserInputError(`unknown tuner "${name}"`, `use one of: ${TUNER_NAMES.join(", ")}`);
  }
}
