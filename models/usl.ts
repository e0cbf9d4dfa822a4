// Universal Scalability Law fits: X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1)).
// sigma is contention (the shared memory bus: workers queue for bandwidth), kappa is coherency
// (threads and processes paying to agree: barriers, cache-line traffic), and a kappa above zero is
// what makes throughput fall past a peak at N* = sqrt((1 - sigma) / kappa). Gunther's law fits a
// handful of points well, which is what a tuner has after its first trials.
//
// `fitUsl` fits one dimension; `UslModel` multiplies one USL factor per parallel dimension
// (workers, threads, sequences) so it can be fitted on the configurations a tuner has tried.

import type { Config, Observation, PerformanceModel, Prediction } from "../src/types.js";
import { deltaVariance, leastSquares } from "./least-squares.js";

export interface UslPoint {
  n: number;
  x: number;
}

export interface UslFit {
  lambda: number;
  sigma: number;
  kappa: number;
  /** Covariance of [log lambda, sigma, kappa]. */
  covariance: number[][];
  /** Scatter of log X about the fit. */
  residualLogSd: number;
  /** Where throughput peaks (Infinity when kappa is 0). */
  peak: number;
  predict(n: number): { mean: number; std: number };
}

/** log of N / (1 + sigma (N-1) + kappa N (N-1)): one dimension's share of log throughput. */
function logUslFactor(n: number, sigma: number, kappa: number): number {
  return Math.log(n) - Math.log(1 + sigma * (n - 1) + kappa * n * (n - 1));
}

/**
 * Weak priors keep sigma and kappa near zero unless the points say otherwise: with three points
 * the three parameters are exactly determined and any noise would otherwise become "coherency".
 */
const SIGMA_PRIOR = { mean: 0.05, sd: 0.5 };
const KAPPA_PRIOR = { mean: 0.001, sd: 0.05 };
/** Below this, a fit's scatter is measurement noise we cannot see with so few points. */
const MIN_LOG_SD = 0.03;

/** Fits the USL to throughput against one parallelism count, in log space (errors are relative). */
export function fitUsl(points: UslPoint[]): UslFit {
  const pts = points.filter((p) => p.n >= 1 && p.x > 0 && Number.isFinite(p.x));
  if (pts.length === 0) throw new Error("fitUsl needs at least one point with positive throughput");
  const y = pts.map((p) => Math.log(p.x));
  // lambda is the single-unit throughput: start from the smallest N's throughput per unit.
  const smallest = pts.reduce((a, b) => (b.n < a.n ? b : a));
  const start = Math.log(smallest.x / smallest.n);
  const fit = leastSquares({
    model: (p, i) => p[0] + logUslFactor(pts[i].n, p[1], p[2]),
    y,
    sigma: pts.map(() => 0.05),
    initial: [start, SIGMA_PRIOR.mean, KAPPA_PRIOR.mean],
    prior: { mean: [start, SIGMA_PRIOR.mean, KAPPA_PRIOR.mean], sd: [10, SIGMA_PRIOR.sd, KAPPA_PRIOR.sd] },
    min: [start - 20, 0, 0],
    max: [start + 20, 1, 1],
  });
  const [logLambda, sigma, kappa] = fit.params;
  const residualLogSd = Math.max(MIN_LOG_SD, pts.length > 3 ? fit.residualSd : 0.1);
  const g = (n: number) => (p: number[]) => p[0] + logUslFactor(n, p[1], p[2]);
  return {
    lambda: Math.exp(logLambda),
    sigma,
    kappa,
    covariance: fit.covariance,
    residualLogSd,
    peak: kappa > 0 ? Math.sqrt(Math.max(0, 1 - sigma) / kappa) : Number.POSITIVE_INFINITY,
    predict(n: number) {
      const logMean = g(n)(fit.params);
      const logSd = Math.sqrt(residualLogSd ** 2 + deltaVariance(g(n), fit.params, fit.covariance));
      const mean = Math.exp(logMean);
      return { mean, std: mean * logSd };
    },
  };
}

/** The parallel dimensions the USL model can scale along, in the order they are fitted. */
export const USL_DIMENSIONS = ["workers", "threads", "sequences"] as const;

export interface UslModelOptions {
  /** Usable CPUs: configurations with workers x threads above it are past the cliff the USL cannot see. */
  usableCpus?: number;
  /**
   * The parameters to scale along (default workers, threads, sequences). A command names its own
   * (np, t, nodes); its counts may span hosts, so no cliff applies to them.
   */
  dimensions?: readonly string[];
}

/** A configuration's value of a dimension; a missing one counts as 1 (no parallelism along it). */
function dim(config: Config, key: string): number {
  const v = Number(config[key] ?? 1);
  return Number.isFinite(v) && v >= 1 ? v : 1;
}

/**
 * Throughput as lambda times one USL factor per dimension that varies among the observations.
 * The factors multiply because a worker's sequences share its threads and the workers share the
 * bus; that ignores interactions (more workers leave less bandwidth for each worker's threads),
 * which is the price of fitting from few points. Oversubscribed configurations are left out of
 * the fit and predicted at a fixed cliff with a wide uncertainty.
 */
export class UslModel implements PerformanceModel {
  readonly name = "usl";
  private dims: string[] = [];
  private params: number[] = [];
  private covariance: number[][] = [];
  private logSd = 0.3;
  private fitted = 0;

  constructor(private readonly options: UslModelOptions = {}) {}

  private oversubscribed(config: Config): boolean {
    const cpus = this.options.dimensions ? undefined : this.options.usableCpus;
    return cpus !== undefined && dim(config, "workers") * dim(config, "threads") > cpus + 1e-9;
  }

  private logMean(config: Config, p: number[]): number {
    let v = p[0];
    this.dims.forEach((d, j) => (v += logUslFactor(dim(config, d), p[1 + 2 * j], p[2 + 2 * j])));
    return v;
  }

  fit(observations: Observation[]): void {
    const usable = observations.filter(
      (o) => o.status === "ok" && o.value !== null && o.value > 0 && Number.isFinite(o.value) && !this.oversubscribed(o.config),
    );
    this.fitted = usable.length;
    if (usable.length === 0) {
      this.dims = [];
      this.params = [];
      return;
    }
    this.dims = (this.options.dimensions ?? USL_DIMENSIONS).filter((d) => new Set(usable.map((o) => dim(o.config, d))).size > 1);
    const y = usable.map((o) => Math.log(o.value as number));
    const start = Math.min(...y.map((v, i) => v - this.dims.reduce((s, d) => s + Math.log(dim(usable[i].config, d)), 0)));
    const initial = [start, ...this.dims.flatMap(() => [SIGMA_PRIOR.mean, KAPPA_PRIOR.mean])];
    const fit = leastSquares({
      model: (p, i) => this.logMean(usable[i].config, p),
      y,
      sigma: y.map(() => 0.05),
      initial,
      prior: { mean: initial, sd: [10, ...this.dims.flatMap(() => [SIGMA_PRIOR.sd, KAPPA_PRIOR.sd])] },
      min: [start - 20, ...this.dims.flatMap(() => [0, 0])],
      max: [start + 20, ...this.dims.flatMap(() => [1, 1])],
    });
    this.params = fit.params;
    this.covariance = fit.covariance;
    // With as many points as parameters the residual says nothing: assume 15% until it can.
    this.logSd = usable.length > initial.length ? Math.max(MIN_LOG_SD, fit.residualSd) : 0.15;
  }

  predict(config: Config): Prediction {
    if (this.params.length === 0) throw new Error("the USL model needs at least one successful trial before it can predict");
    const g = (p: number[]) => this.logMean(config, p);
    let logSd = Math.sqrt(this.logSd ** 2 + deltaVariance(g, this.params, this.covariance));
    let mean = Math.exp(g(this.params));
    if (this.oversubscribed(config)) {
      // The reference 16-core Xeon lost 98% (2 tok/s where ~120 was possible) at 2x oversubscription.
      mean *= 0.02;
      logSd = Math.max(logSd, 1);
    }
    return { mean, std: mean * logSd, source: `usl (${this.dims.join("x") || "constant"}, fitted on ${this.fitted})` };
  }
}
