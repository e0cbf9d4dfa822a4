// Gaussian process regression over a discrete search space: the surrogate the bayes tuner
// searches with and a PerformanceModel the models/ folder can reuse.
//
// Why this shape:
// - Spaces are small (tens to hundreds of configurations) and observations few (< ~100), so an
//   exact GP with a Cholesky factor is cheap and there is no need for sparse approximations.
// - Numeric parameters go through `encodeNumeric` from src/space.ts, which already puts
//   threads/sequences/batch on a log scale, so one Matérn-5/2 kernel with a lengthscale per
//   dimension (ARD) fits them; a categorical parameter (quantization) has no order, so it gets
//   an overlap kernel: 1 when two configurations agree, a learned similarity in (0, 1) when not.
// - Hyperparameters are picked by maximizing the log marginal likelihood with a weak prior on the
//   lengthscales (MAP), by coordinate ascent over fixed grids. A grid is robust with the handful
//   of points a tuner has early on, where gradient fits wander off to degenerate optima.
// - The signal variance is profiled out analytically (for K = s²(C + gI) the best s² is
//   yᵀ(C+gI)⁻¹y / n), which leaves only lengthscales, categorical similarities and the
//   noise-to-signal ratio g to search.
// - An optional prior mean (a roofline or USL prediction) is calibrated by one scale factor fit
//   to the data; the GP then models what the prior gets wrong.

import { CholeskyDecomposition, Matrix } from "ml-matrix";
import { encodeNumeric } from "../src/space.js";
import type { Config, Observation, PerformanceModel, Prediction, SearchSpace } from "../src/types.js";

export interface GpHyperparameters {
  /** One lengthscale per numeric parameter, in encoded [0, 1] units. */
  lengthscales: number[];
  /** One similarity in (0, 1) per categorical parameter: the kernel factor when values differ. */
  similarities: number[];
  /** Observation noise variance over signal variance. */
  noiseRatio: number;
  /** Signal variance in standardized units (profiled out of the likelihood). */
  signalVariance: number;
}

export interface GaussianProcessOptions {
  /** Prior belief of the objective for a configuration, in objective units (larger is better). */
  priorMean?: (config: Config) => number;
  /** Keep these hyperparameters instead of searching (fields left out are still searched). */
  fixed?: Partial<Pick<GpHyperparameters, "lengthscales" | "similarities" | "noiseRatio">>;
  /** Smallest noise-to-signal ratio searched; raise it for measurements known to be noisy. */
  minNoiseRatio?: number;
}

const LENGTHSCALE_GRID = [0.08, 0.15, 0.25, 0.4, 0.6, 1, 1.6, 3];
const SIMILARITY_GRID = [0.05, 0.25, 0.5, 0.75, 0.95];
const NOISE_GRID = [1e-6, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3];
// Weak log-normal prior on lengthscales: centred at 0.4 of the encoded range, wide (sigma 1.5 in
// log units), only there to stop a 3-point fit choosing a lengthscale of 0.08 or 3 by accident.
const LENGTHSCALE_PRIOR_CENTRE = Math.log(0.4);
const LENGTHSCALE_PRIOR_SIGMA = 1.5;
const MAX_SWEEPS = 4;

/** A configuration split the way the kernel needs it. */
interface Encoded {
  numeric: number[];
  categories: number[];
}

interface Factor {
  chol: Matrix; // lower triangular L with L Lᵀ = C + gI
  alpha: number[]; // (C + gI)⁻¹ y
  signalVariance: number;
  logLikelihood: number;
}

export class GaussianProcess implements PerformanceModel {
  readonly name = "gp";
  private readonly numericParams;
  private readonly categoricalParams;
  private hyper: GpHyperparameters;
  private x: Encoded[] = [];
  private y: number[] = []; // standardized residuals
  private factor: Factor | null = null;
  private priorScale = 1;
  private yMean = 0;
  private yScale = 1;

  constructor(
    readonly space: SearchSpace,
    private readonly options: GaussianProcessOptions = {},
  ) {
    this.numericParams = space.params.filter((p) => p.kind !== "categorical");
    this.categoricalParams = space.params.filter((p) => p.kind === "categorical");
    this.hyper = {
      lengthscales: options.fixed?.lengthscales ?? this.numericParams.map(() => 0.4),
      similarities: options.fixed?.similarities ?? this.categoricalParams.map(() => 0.5),
      noiseRatio: options.fixed?.noiseRatio ?? 1e-3,
      signalVariance: 1,
    };
  }

  /** Fits to the observations that have a value; failed ones (value null) are the caller's call. */
  fit(observations: Observation[], options: { optimize?: boolean } = {}): void {
    const ok = observations.filter((o): o is Observation & { value: number } => o.value !== null && Number.isFinite(o.value));
    this.fitPoints(
      ok.map((o) => o.config),
      ok.map((o) => o.value),
      options,
    );
  }

  /**
   * Fits to configurations and objective values. `optimize: false` keeps the current
   * hyperparameters (cheap refits between searches); by default they are searched again, starting
   * from the current ones.
   */
  fitPoints(configs: Config[], values: number[], options: { optimize?: boolean } = {}): void {
    if (configs.length !== values.length) throw new Error("configs and values differ in length");
    this.x = configs.map((c) => this.encode(c));
    const prior = configs.map((c) => this.options.priorMean?.(c) ?? 0);
    // One scale factor for the prior: a roofline right in shape but off by a constant factor is
    // still a useful prior. Least squares through the origin, kept positive.
    this.priorScale = 1;
    if (this.options.priorMean && configs.length > 0) {
      const num = values.reduce((s, v, i) => s + v * prior[i], 0);
      const den = prior.reduce((s, m) => s + m * m, 0);
      if (den > 0 && num > 0) this.priorScale = num / den;
    }
    const residual = values.map((v, i) => v - this.priorScale * prior[i]);
    const n = residual.length;
    this.yMean = n > 0 ? residual.reduce((a, b) => a + b, 0) / n : 0;
    const variance = n > 1 ? residual.reduce((s, r) => s + (r - this.yMean) ** 2, 0) / (n - 1) : 0;
    // With one point, or all equal, there is no spread to learn a scale from: fall back to the
    // magnitude of the data so that predicted std stays in sensible units.
    this.yScale = Math.sqrt(variance) || Math.abs(this.yMean) || Math.max(...values.map(Math.abs), 1);
    this.y = residual.map((r) => (r - this.yMean) / this.yScale);
    if (n === 0) {
      this.factor = null;
      return;
    }
    if (options.optimize !== false && n >= 2) this.optimizeHyperparameters();
    this.factor = this.factorize(this.hyper);
    if (!this.factor) throw new Error("Gaussian process: covariance matrix is not positive definite");
    this.hyper = { ...this.hyper, signalVariance: this.factor.signalVariance };
  }

  predict(config: Config): Prediction {
    return this.predictMany([config])[0];
  }

  /** Posterior mean and std of the (noise-free) objective, in objective units. */
  predictMany(configs: Config[]): Prediction[] {
    const f = this.factor;
    if (!f) throw new Error("Gaussian process: predict called before fit with at least one observation");
    const L = f.chol;
    const n = this.x.length;
    return configs.map((config) => {
      const e = this.encode(config);
      const k = this.x.map((xi) => this.correlation(e, xi, this.hyper));
      let mean = 0;
      for (let i = 0; i < n; i++) mean += k[i] * f.alpha[i];
      // v = L⁻¹k; posterior variance of the correlation-scale function is 1 - vᵀv.
      const v = new Array<number>(n);
      let vv = 0;
      for (let i = 0; i < n; i++) {
        let s = k[i];
        for (let j = 0; j < i; j++) s -= L.get(i, j) * v[j];
        v[i] = s / L.get(i, i);
        vv += v[i] * v[i];
      }
      const variance = Math.max(0, f.signalVariance * (1 - vv));
      const prior = this.options.priorMean ? this.priorScale * this.options.priorMean(config) : 0;
      return {
        mean: prior + this.yMean + this.yScale * mean,
        std: this.yScale * Math.sqrt(variance),
        source: "gp",
      };
    });
  }

  get hyperparameters(): GpHyperparameters {
    return { ...this.hyper, lengthscales: [...this.hyper.lengthscales], similarities: [...this.hyper.similarities] };
  }

  /** Estimated standard deviation of one observation's noise, in objective units. */
  get noiseStd(): number {
    return this.yScale * Math.sqrt(this.hyper.signalVariance * this.hyper.noiseRatio);
  }

  /** Log marginal likelihood of the standardized data under the chosen hyperparameters. */
  get logMarginalLikelihood(): number {
    return this.factor?.logLikelihood ?? Number.NaN;
  }

  get observationCount(): number {
    return this.x.length;
  }

  private encode(config: Config): Encoded {
    return {
      numeric: this.numericParams.map((p) => encodeNumeric(p, config[p.name])),
      categories: this.categoricalParams.map((p) => (p.kind === "categorical" ? p.values.indexOf(String(config[p.name])) : -1)),
    };
  }

  /** Kernel correlation (signal variance 1): Matérn-5/2 ARD times categorical overlap factors. */
  private correlation(a: Encoded, b: Encoded, h: GpHyperparameters): number {
    let r2 = 0;
    for (let d = 0; d < a.numeric.length; d++) {
      const z = (a.numeric[d] - b.numeric[d]) / h.lengthscales[d];
      r2 += z * z;
    }
    const r = Math.sqrt(5 * r2);
    let k = (1 + r + (5 * r2) / 3) * Math.exp(-r);
    for (let c = 0; c < a.categories.length; c++) if (a.categories[c] !== b.categories[c]) k *= h.similarities[c];
    return k;
  }

  private factorize(h: GpHyperparameters): Factor | null {
    const n = this.x.length;
    const C = new Matrix(n, n);
    for (let i = 0; i < n; i++) {
      C.set(i, i, 1 + h.noiseRatio + 1e-9);
      for (let j = 0; j < i; j++) {
        const k = this.correlation(this.x[i], this.x[j], h);
        C.set(i, j, k);
        C.set(j, i, k);
      }
    }
    const chol = new CholeskyDecomposition(C);
    if (!chol.isPositiveDefinite()) return null;
    const L = chol.lowerTriangularMatrix;
    const alpha = chol.solve(Matrix.columnVector(this.y)).getColumn(0);
    const quad = this.y.reduce((s, yi, i) => s + yi * alpha[i], 0);
    // Profiled signal variance; floored so an exactly-fitted constant does not give log(0).
    const signalVariance = Math.max(quad / n, 1e-12);
    let logDet = 0;
    for (let i = 0; i < n; i++) logDet += 2 * Math.log(L.get(i, i));
    // log N(y | 0, s²(C+gI)) at the profiled s²: -n/2 log s² - 1/2 log|C+gI| - n/2 - n/2 log 2π
    const logLikelihood = -0.5 * n * Math.log(signalVariance) - 0.5 * logDet - 0.5 * n - 0.5 * n * Math.log(2 * Math.PI);
    return { chol: L, alpha, signalVariance, logLikelihood };
  }

  private objective(h: GpHyperparameters): number {
    const f = this.factorize(h);
    if (!f) return -Infinity;
    let logPrior = 0;
    for (const l of h.lengthscales) logPrior -= 0.5 * ((Math.log(l) - LENGTHSCALE_PRIOR_CENTRE) / LENGTHSCALE_PRIOR_SIGMA) ** 2;
    return f.logLikelihood + logPrior;
  }

  /** Coordinate ascent over the grids, from the current hyperparameters and from a default start. */
  private optimizeHyperparameters(): void {
    const fixed = this.options.fixed ?? {};
    const noiseGrid = NOISE_GRID.filter((g) => g >= (this.options.minNoiseRatio ?? 0));
    if (noiseGrid.length === 0) noiseGrid.push(this.options.minNoiseRatio!);
    const axes: { grid: number[]; get: (h: GpHyperparameters) => number; set: (h: GpHyperparameters, v: number) => void }[] = [];
    if (!fixed.lengthscales) {
      this.numericParams.forEach((_, d) =>
        axes.push({ grid: LENGTHSCALE_GRID, get: (h) => h.lengthscales[d], set: (h, v) => (h.lengthscales[d] = v) }),
      );
    }
    if (!fixed.similarities) {
      this.categoricalParams.forEach((_, c) =>
        axes.push({ grid: SIMILARITY_GRID, get: (h) => h.similarities[c], set: (h, v) => (h.similarities[c] = v) }),
      );
    }
    if (fixed.noiseRatio === undefined) axes.push({ grid: noiseGrid, get: (h) => h.noiseRatio, set: (h, v) => (h.noiseRatio = v) });
    if (axes.length === 0) return;

    const starts: GpHyperparameters[] = [this.hyperparameters];
    const defaults = this.hyperparameters;
    if (!fixed.lengthscales) defaults.lengthscales = defaults.lengthscales.map(() => 0.4);
    if (!fixed.similarities) defaults.similarities = defaults.similarities.map(() => 0.5);
    if (fixed.noiseRatio === undefined) defaults.noiseRatio = noiseGrid.find((g) => g >= 1e-3) ?? noiseGrid[0];
    starts.push(defaults);

    let best = starts[0];
    let bestScore = -Infinity;
    for (const start of starts) {
      let h = { ...start, lengthscales: [...start.lengthscales], similarities: [...start.similarities] };
      let score = this.objective(h);
      for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
        let improved = false;
        for (const axis of axes) {
          const current = axis.get(h);
          for (const v of axis.grid) {
            if (v === current) continue;
            const trial = { ...h, lengthscales: [...h.lengthscales], similarities: [...h.similarities] };
            axis.set(trial, v);
            const s = this.objective(trial);
            if (s > score + 1e-9) {
              score = s;
              h = trial;
              improved = true;
            }
          }
        }
        if (!improved) break;
      }
      if (score > bestScore) {
        bestScore = score;
        best = h;
      }
    }
    this.hyper = best;
  }
}
