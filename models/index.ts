// The performance model a caller should use, given what has been observed so far:
// - no trials: the roofline prior (needs the hardware profile and the model file);
// - a few trials: the roofline calibrated on them (it has 3-4 numbers to fit; a GP or a USL with
//   as many parameters as points would only be threading through noise);
// - enough trials to check: every candidate (calibrated roofline, USL, GP on the roofline's
//   log-ratio) is scored by cross-validation on the trials themselves, and the one with the lowest
//   error answers. Each prediction names its source, so a report can say which model made it.

import type { Config, HardwareProfile, ModelInfo, Observation, PerformanceModel, Prediction, SearchSpace } from "../src/types.js";
import { createRng, shuffle } from "../src/random.js";
import { RooflineModel, type RooflineParams } from "./roofline.js";
import { SurrogateModel } from "./surrogate.js";
import { UslModel } from "./usl.js";

export { RooflineModel, rooflinePriorMean, DEFAULT_ROOFLINE_PARAMS, type RooflineParams, type RooflineOptions } from "./roofline.js";
export { UslModel, fitUsl, type UslFit, type UslPoint } from "./usl.js";
export { SurrogateModel } from "./surrogate.js";
export { predictionInterval, insideInterval, logSd, INTERVAL_LEVEL } from "./interval.js";

export interface PerformanceModelOptions {
  /** Needed for the roofline (bandwidth curve, usable cores). */
  hardware?: HardwareProfile;
  /** The model file, or one per quant of the search space. */
  models?: ModelInfo | ModelInfo[];
  /** Needed for the GP surrogate (it encodes configurations through the space). */
  space?: SearchSpace;
  /** Average context per sequence while decoding (prompt + half the generated tokens). */
  contextTokens?: number;
  rooflineParams?: Partial<RooflineParams>;
  /** A command's process and thread counts, for the USL to scale along (default workers, threads, sequences). */
  parallelParams?: string[];
}

/** Trials below which the calibrated roofline answers without a contest. */
const MIN_TRIALS_FOR_SELECTION = 6;
/** At most this many cross-validation folds, so that selection stays cheap with many trials. */
const MAX_FOLDS = 8;
/** Trials from which the answer is averaged with the cross-validation fold fits. */
const MIN_TRIALS_FOR_AVERAGING = 4;

type Candidate = { name: string; make: () => PerformanceModel };

export class AdaptiveModel implements PerformanceModel {
  readonly name = "adaptive";
  private chosen: PerformanceModel | null;
  /** Cross-validated mean absolute percentage error of each candidate at the last fit. */
  scores: Record<string, number> = {};

  constructor(private readonly options: PerformanceModelOptions) {
    this.chosen = this.roofline();
  }

  private roofline(): RooflineModel | null {
    const { hardware, models } = this.options;
    if (!hardware || !models || (Array.isArray(models) && models.length === 0)) return null;
    return new RooflineModel({ hardware, models, contextTokens: this.options.contextTokens, params: this.options.rooflineParams });
  }

  private candidates(okCount: number): Candidate[] {
    const out: Candidate[] = [];
    const hasRoofline = this.roofline() !== null;
    if (hasRoofline) out.push({ name: "roofline", make: () => this.roofline()! });
    // The USL knows nothing the calibrated roofline does not, and with few points it fits noise
    // (16% error at K=8 on the Xeon landscape against the roofline's 10%): it answers only when
    // there is no roofline, e.g. for a command workload.
    if (!hasRoofline && okCount >= 1) {
      const usableCpus = this.options.hardware?.limits.cpus;
      const dimensions = this.options.parallelParams;
      out.push({ name: "usl", make: () => new UslModel(dimensions ? { dimensions } : { usableCpus }) });
    }
    if (this.options.space && okCount >= (hasRoofline ? 3 : 2)) {
      const space = this.options.space;
      out.push({ name: "surrogate", make: () => new SurrogateModel(space, this.roofline()) });
    }
    return out;
  }

  fit(observations: Observation[]): void {
    const ok = observations.filter((o) => o.status === "ok" && o.value !== null && o.value > 0);
    const candidates = this.candidates(ok.length);
    this.scores = {};
    if (candidates.length === 0) {
      this.chosen = null;
      return;
    }
    let pick = candidates[0];
    let pickFolds: PerformanceModel[] = [];
    const contest = ok.length >= MIN_TRIALS_FOR_SELECTION && candidates.length > 1;
    if (contest || ok.length >= MIN_TRIALS_FOR_AVERAGING) {
      let bestScore = Infinity;
      for (const c of contest ? candidates : [pick]) {
        const cv = crossValidate(c.make, observations, ok);
        if (contest) this.scores[c.name] = cv.mape;
        if (cv.mape < bestScore || c === pick) {
          if (cv.mape < bestScore) bestScore = cv.mape;
          pick = c;
          pickFolds = cv.models;
        }
      }
    }
    // A GP whose covariance will not factor (duplicate points with no noise, say) must not stop a
    // tuning run: the first candidate (the calibrated roofline when there is one) answers instead.
    for (const c of pick === candidates[0] ? [pick] : [pick, candidates[0]]) {
      try {
        const model = c.make();
        model.fit(observations);
        // The fold fits of the cross-validation are the same model on most of the trials: their
        // geometric mean with the full fit is a bagged answer, steadier than one fit of ten terms
        // to a handful of points (docs/models.md), at no extra cost.
        this.chosen = c === pick && pickFolds.length > 0 ? new FoldAverage(model, pickFolds) : model;
        return;
      } catch (err) {
        if (c === candidates[0]) throw err;
        pickFolds = [];
      }
    }
  }

  /** The model that answers now. */
  get current(): PerformanceModel | null {
    return this.chosen;
  }

  predict(config: Config): Prediction {
    if (!this.chosen) {
      throw new Error("no performance model can predict yet: give the hardware profile and model file, or run a trial first");
    }
    return this.chosen.predict(config);
  }
}

/**
 * The model fitted on all trials, answering with the geometric mean of its own prediction and
 * those of the same model fitted on each cross-validation fold; the interval adds their spread.
 */
export class FoldAverage implements PerformanceModel {
  readonly name: string;

  constructor(
    readonly full: PerformanceModel,
    readonly folds: PerformanceModel[],
  ) {
    this.name = full.name;
  }

  fit(observations: Observation[]): void {
    this.full.fit(observations);
    this.folds.length = 0;
  }

  predict(config: Config): Prediction {
    const p = this.full.predict(config);
    if (this.folds.length === 0 || !(p.mean > 0)) return p;
    const logs = [Math.log(p.mean), ...this.folds.map((m) => Math.log(Math.max(m.predict(config).mean, 1e-12)))];
    const centre = logs.reduce((a, b) => a + b, 0) / logs.length;
    const spread = logs.reduce((s, l) => s + (l - centre) ** 2, 0) / logs.length;
    const mean = Math.exp(centre);
    const logSd = Math.sqrt((p.std / p.mean) ** 2 + spread);
    return { mean, std: mean * logSd, source: `${p.source}, averaged with ${this.folds.length} fold fits` };
  }
}

/**
 * K-fold over the successful trials (failed ones always stay in training: they carry no number
 * but a model may use them). Deterministic, so that the same trials pick the same model. Returns
 * the mean absolute percentage error on the held-out trials and the fold models.
 */
function crossValidate(make: () => PerformanceModel, all: Observation[], ok: Observation[]): { mape: number; models: PerformanceModel[] } {
  const folds = Math.min(MAX_FOLDS, ok.length);
  const order = shuffle(createRng(ok.length), ok);
  const models: PerformanceModel[] = [];
  let sum = 0;
  let count = 0;
  for (let f = 0; f < folds; f++) {
    const held = new Set(order.filter((_, i) => i % folds === f));
    const model = make();
    try {
      model.fit(all.filter((o) => !held.has(o)));
      for (const o of held) {
        const p = model.predict(o.config).mean;
        sum += Math.abs(p - (o.value as number)) / (o.value as number);
        count++;
      }
    } catch {
      return { mape: Infinity, models: [] };
    }
    models.push(model);
  }
  return { mape: count > 0 ? sum / count : Infinity, models };
}

/** The best available performance model for what has been observed; call `fit` as trials land. */
export function createPerformanceModel(options: PerformanceModelOptions): AdaptiveModel {
  return new AdaptiveModel(options);
}

/** Predicted speedup of `config` over `baseline` (decode tok/s ratio) under one model. */
export function predictedSpeedup(model: PerformanceModel, config: Config, baseline: Config): number {
  return model.predict(config).mean / model.predict(baseline).mean;
}
