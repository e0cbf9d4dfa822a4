// Replay: a recorded landscape (src/landscape.ts) stands in for the machine, so tuners can be
// compared over many seeds in seconds, on real data, with no noise from the machine the
// benchmark runs on.

import { basename } from "node:path";
import { UserInputError } from "./errors.js";
import { fractionOfBest, type Landscape } from "./landscape.js";
import { loadLandscapeContext } from "./landscape-context.js";
import { configKey } from "./space.js";
import { percentile } from "./statistics.js";
import type { Config, Param } from "./types.js";
import { createTuner } from "../tuners/index.js";
import { RooflineModel } from "../models/roofline.js";

export interface SeedRun {
  seed: number;
  /** Trials until the best found was within 95% / 99% of the table's best; null if never. */
  reach95: number | null;
  reach99: number | null;
  /** Fraction of the table's best found within the first N trials. */
  fractionAtN: number;
  /** Trials actually run (beyond N only while 99% had not been reached). */
  trials: number;
  /** Best fraction after each trial. */
  curve: number[];
}

export interface Quartiles {
  q1: number;
  median: number;
  q3: number;
}

export interface TunerReplay {
  tuner: string;
  /** Quartiles over seeds (linear interpolation); a seed that never got there counts as Infinity (JSON: null). */
  reach95: Quartiles;
  reach99: Quartiles;
  fractionAtN: Quartiles;
  /** Share of seeds that reached 95% within N trials. */
  successAtN: number;
  seeds: SeedRun[];
  elapsedMs: number;
}

export interface ReplayOptions {
  tuners: string[];
  trials: number;
  seeds: number;
  /** First seed; seeds are firstSeed, firstSeed + 1, ... */
  firstSeed?: number;
  /** Prior mean handed to tuners that use one (bayes), as `landscapePrior` builds it. */
  priorMean?: (config: Config) => number;
  /** What the prior mean is, or why there is none; reported in the result. */
  prior?: ReplayPrior;
  onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult {
  landscape: string;
  objective: string;
  direction: "maximize" | "minimize";
  params: Param[];
  configurations: number;
  failed: number;
  best: { config: Config; value: number };
  /** How many configurations are within 95% of the best: 1 means the target is the best itself. */
  within95: number;
  trials: number;
  seeds: number;
  /** Whether the bayes tuner had a prior mean, and which. */
  prior: ReplayPrior;
  tuners: TunerReplay[];
}

/** Whether a replay gave the bayes tuner a prior mean, as `paratune tune` would have had. */
export interface ReplayPrior {
  used: boolean;
  /** What the prior was built from, or why there is none. */
  detail: string;
}

/** The objective the roofline predicts, and that `paratune tune`'s throughput objective measures. */
const ROOFLINE_OBJECTIVE = "decodeTps";

/**
 * The prior mean `paratune tune` gives the bayes tuner (src/tune/index.ts): the roofline from the
 * machine's hardware profile and the models' ModelInfo, here read from the landscape's
 * `.meta.json` sidecar (src/landscape-context.ts). None when the sidecar lacks them, when the
 * objective is not decode throughput (the only thing the roofline predicts), when the roofline
 * has no finite prediction for some recorded configuration, or when `disabled` (--no-prior).
 */
export function landscapePrior(landscape: Landscape, options: { disabled?: boolean } = {}): { priorMean?: (config: Config) => number; prior: ReplayPrior } {
  const none = (detail: string) => ({ prior: { used: false, detail } });
  if (options.disabled) return none("--no-prior");
  if (landscape.objective !== ROOFLINE_OBJECTIVE || landscape.direction !== "maximize") {
    return none(`the roofline predicts ${ROOFLINE_OBJECTIVE} (maximized), not ${landscape.objective}${landscape.direction === "minimize" ? " (minimized)" : ""}`);
  }
  const context = loadLandscapeContext(landscape.source);
  if (!context.hardware) return none("the landscape's .meta.json sidecar names no hardware profile");
  if (!context.models || context.models.length === 0) return none("the landscape's .meta.json sidecar has no model info (\"models\": ModelInfo list)");
  const roofline = new RooflineModel({ hardware: context.hardware, models: context.models, contextTokens: context.contextTokens });
  for (const row of landscape.rows) {
    let mean: number;
    try {
      mean = roofline.predict(row.config).mean;
    } catch (err) {
      return none(`the roofline cannot predict ${configKey(row.config)}: ${(err as Error).message}`);
    }
    if (!Number.isFinite(mean)) return none(`the roofline has no finite prediction for ${configKey(row.config)}`);
  }
  const hardware = context.hardwareFile ? basename(context.hardwareFile) : "the sidecar's hardware";
  const quants = context.models.map((m) => m.quant).join(", ");
  const tokens = context.contextTokens === undefined ? "default context" : `context ${context.contextTokens} tokens`;
  return { priorMean: (c) => roofline.predict(c).mean, prior: { used: true, detail: `roofline (${hardware}; models ${quants}; ${tokens})` } };
}

/**
 * Runs one tuner against the landscape. It runs at least `trials` trials, then on until it has
 * reached 99% of the best (or exhausted the space), so that trials-to-target is a number for
 * every seed rather than censored at N.
 */
export function replaySeed(landscape: Landscape, tunerName: string, trials: number, seed: number, priorMean?: (c: Config) => number): SeedRun {
  const tuner = createTuner(tunerName, landscape.space, { seed, priorMean });
  let bestFraction = 0;
  let reach95: number | null = null;
  let reach99: number | null = null;
  let fractionAtN = 0;
  const curve: number[] = [];
  const limit = landscape.rows.length;
  for (let t = 1; t <= limit; t++) {
    if (t > trials && reach99 !== null) break;
    const config = tuner.ask();
    if (!config) break;
    const row = landscape.lookup(config);
    if (!row) throw new Error(`tuner ${tunerName} asked for ${configKey(config)}, which is outside the landscape`);
    const value = row.value === null ? null : landscape.direction === "maximize" ? row.value : -row.value;
    tuner.tell({ config, status: row.value === null ? "failed" : "ok", value });
    bestFraction = Math.max(bestFraction, fractionOfBest(landscape, row.value));
    curve.push(bestFraction);
    if (reach95 === null && bestFraction >= 0.95 - 1e-12) reach95 = t;
    if (reach99 === null && bestFraction >= 0.99 - 1e-12) reach99 = t;
    if (t <= trials) fractionAtN = bestFraction;
  }
  return { seed, reach95, reach99, fractionAtN, trials: curve.length, curve };
}

/**
 * Quartiles of trials-to-target over the seeds. A seed that never reached the target counts as
 * Infinity; a quartile between two such seeds is Infinity too (interpolation would make it NaN).
 */
export function quartiles(values: number[]): Quartiles {
  if (values.length === 0) throw new Error("quartiles of nothing");
  const q = (p: number) => {
    const v = percentile(values, p);
    return Number.isNaN(v) ? Infinity : v;
  };
  return { q1: q(0.25), median: q(0.5), q3: q(0.75) };
}

export function replay(landscape: Landscape, options: ReplayOptions): ReplayResult {
  if (!Number.isInteger(options.trials) || options.trials < 1) throw new UserInputError("--trials must be a positive whole number");
  if (!Number.isInteger(options.seeds) || options.seeds < 1) throw new UserInputError("--seeds must be a positive whole number");
  const first = options.firstSeed ?? 0;
  const total = options.tuners.length * options.seeds;
  let done = 0;
  const results = options.tuners.map((name): TunerReplay => {
    createTuner(name, landscape.space); // fails fast on an unknown name, before any work
    const started = performance.now();
    const seeds: SeedRun[] = [];
    for (let s = 0; s < options.seeds; s++) {
      seeds.push(replaySeed(landscape, name, options.trials, first + s, options.priorMean));
      options.onProgress?.(++done, total);
    }
    const inf = (v: number | null) => v ?? Infinity;
    return {
      tuner: name,
      reach95: quartiles(seeds.map((r) => inf(r.reach95))),
      reach99: quartiles(seeds.map((r) => inf(r.reach99))),
      fractionAtN: quartiles(seeds.map((r) => r.fractionAtN)),
      successAtN: seeds.filter((r) => r.reach95 !== null && r.reach95 <= options.trials).length / seeds.length,
      seeds,
      elapsedMs: performance.now() - started,
    };
  });
  return {
    landscape: landscape.source,
    objective: landscape.objective,
    direction: landscape.direction,
    params: landscape.params,
    configurations: landscape.rows.length,
    failed: landscape.rows.filter((r) => r.value === null).length,
    best: { config: landscape.best.config, value: landscape.best.value! },
    within95: landscape.rows.filter((r) => fractionOfBest(landscape, r.value) >= 0.95 - 1e-12).length,
    trials: options.trials,
    seeds: options.seeds,
    prior: options.prior ?? (options.priorMean ? { used: true, detail: "given by the caller" } : { used: false, detail: "none given" }),
    tuners: results,
  };
}
