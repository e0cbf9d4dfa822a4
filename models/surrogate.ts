// The surrogate over every parameter: a Gaussian process on the log-ratio between what was
// measured and what the calibrated roofline predicts.
//
// Why the log-ratio: throughput spans two orders of magnitude across a space (2 tok/s
// oversubscribed, 300 tok/s batched), and the roofline's errors are multiplicative (a wrong
// bandwidth fraction scales every memory-bound prediction by the same factor). On the log-ratio
// the GP sees a small, smooth residual where the roofline is right in shape, and it can still
// learn a region where the physics is wrong. Far from any trial the GP's mean returns to zero,
// i.e. to the roofline, instead of to the average of the trials.

import type { Config, Observation, PerformanceModel, Prediction, SearchSpace } from "../src/types.js";
import { GaussianProcess } from "./gp.js";
import type { RooflineModel } from "./roofline.js";

/** Share of the calibrated roofline's log-scale uncertainty the GP-corrected prediction keeps at least. */
const ROOFLINE_SCATTER_SHARE = 0.75;

export class SurrogateModel implements PerformanceModel {
  readonly name = "surrogate";
  private readonly gp: GaussianProcess;
  private fitted = 0;

  /**
   * `roofline` is calibrated by `fit` on the same observations (it is reset first); without one
   * the GP models log throughput directly, which is what a command workload gets.
   */
  constructor(
    readonly space: SearchSpace,
    private readonly roofline: RooflineModel | null,
  ) {
    // Decode tok/s repeats within ~3-5% on a quiet machine: a noise floor of ~1% of the
    // log-ratio's variance keeps the GP from threading exactly through every noisy trial.
    this.gp = new GaussianProcess(space, { minNoiseRatio: 1e-3 });
  }

  private logPrior(config: Config): number {
    return this.roofline ? Math.log(this.roofline.mean(config)) : 0;
  }

  fit(observations: Observation[]): void {
    this.roofline?.calibrate(observations);
    const ok = observations.filter((o) => o.status === "ok" && o.value !== null && o.value > 0 && Number.isFinite(o.value));
    this.fitted = ok.length;
    if (ok.length === 0) return;
    this.gp.fitPoints(
      ok.map((o) => o.config),
      ok.map((o) => Math.log(o.value as number) - this.logPrior(o.config)),
    );
  }

  get observations(): number {
    return this.fitted;
  }

  predict(config: Config): Prediction {
    if (this.fitted === 0) {
      if (!this.roofline) throw new Error("the surrogate needs at least one successful trial before it can predict");
      return this.roofline.predict(config);
    }
    const g = this.gp.predict(config);
    // The GP's std is of the noise-free log-ratio; a new trial also carries its own noise.
    // With a handful of points the GP's own variance is overconfident (64% of held-out Xeon
    // measurements inside +-2 std at K=8): never claim less than most of the calibrated
    // roofline's scatter, which is measured on the same trials.
    let logSd = Math.sqrt(g.std ** 2 + this.gp.noiseStd ** 2);
    if (this.roofline) {
      const r = this.roofline.predict(config);
      logSd = Math.max(logSd, ROOFLINE_SCATTER_SHARE * (r.std / r.mean));
    }
    const mean = Math.exp(this.logPrior(config) + g.mean);
    return {
      mean,
      std: mean * Math.sqrt(Math.expm1(logSd ** 2)),
      source: `${this.roofline ? "gp x roofline" : "gp"} (fitted on ${this.fitted})`,
    };
  }
}
