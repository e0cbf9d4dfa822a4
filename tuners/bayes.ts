// Bayesian optimization over a small discrete space: a Gaussian process surrogate (models/gp.ts)
// and expected improvement evaluated on every remaining feasible configuration (the spaces hold
// tens to a few hundred, so there is no inner optimizer to get wrong).
//
// Trial lifecycle: the first few asks come from a maximin design (started at the prior's best
// configuration when a prior mean is given, else at a seeded random one). After that each ask
// refits the GP to everything told so far and returns the candidate with the highest expected
// improvement over the best posterior mean at an observed configuration.
//
// Failed trials are information, used twice ("both", the default): a failed configuration enters
// the objective GP at the worst value seen so far, which pulls the surrogate down around it; and a
// second GP fit to succeeded/failed labels gives each candidate a probability of success that
// multiplies its expected improvement (constrained EI). Together they keep the search away from
// cliffs such as oversubscribed cores or trials that time out, instead of probing their
// neighbours one by one. "impute" and "feasibility" use one of the two.
//
// A prior mean (the roofline) is used as a trend the data can bend: before the GP, a ridge
// regression of the (log) values on an intercept, the (log) prior and one linear term per
// parameter, the prior's coefficient pulled toward 1 and the linear terms toward 0, with the
// penalty chosen by leave-one-out error. A prior right in shape keeps its weight; one wrong along a
// parameter (the roofline on a 2-core VM: more sequences always faster, threads = cores fine) is
// corrected along it after a few trials instead of pulling every ask toward its own optimum. The
// GP models what the trend leaves.

import { Matrix, solve } from "ml-matrix";
import { GaussianProcess } from "../models/gp.js";
import { configKey, encodeConfig } from "../src/space.js";
import { createRng, randomInt, shuffle } from "../src/random.js";
import type { Config, Observation, SearchSpace, Tuner } from "../src/types.js";
import { expectedImprovement, normalCdf } from "./acquisition.js";
import { CandidatePool } from "./pool.js";
import { maximinDesign } from "./space-filling.js";

export interface BayesOptions {
  seed?: number;
  /** Prior belief of the objective (larger is better), e.g. a roofline or USL prediction. */
  priorMean?: (config: Config) => number;
  /** Trials from the space-filling design before the GP takes over. Default: from the space. */
  initialPoints?: number;
  /**
   * Search the GP hyperparameters at every refit up to this many observations, then every
   * `refitEvery` trials (in between, the last ones are kept). Keeps long replays fast.
   */
  optimizeUpTo?: number;
  refitEvery?: number;
  /**
   * Model the logarithm of the objective when every value has the same sign (default true).
   * Throughput effects multiply (threads x sequences x workers) and cliffs span orders of
   * magnitude; on a log scale both become gentle enough for a stationary kernel.
   */
  logScale?: boolean;
  /** How failed trials shape the search (see the file comment); default "both". */
  failures?: "impute" | "feasibility" | "both";
  /**
   * With a prior mean: true (default) fits the bendable trend of the file comment and lets the GP
   * model its residual; false hands the prior to models/gp.ts, which scales it by one factor.
   */
  priorTrend?: boolean;
}

/** Ridge penalties the trend's leave-one-out choice picks from (in observations' worth). */
const TREND_LAMBDAS = [0.1, 0.3, 1, 3, 10, 30, 100];

export class BayesTuner implements Tuner {
  readonly name = "bayes";
  private readonly pool: CandidatePool;
  private readonly rng: () => number;
  private readonly gp: GaussianProcess;
  /** The same surrogate without the prior, for when the prior cannot be used (see `prior`). */
  private readonly plainGp: GaussianProcess;
  private readonly priorCache = new Map<string, number>();
  private readonly feasibility: GaussianProcess;
  private readonly initialCount: number;
  private readonly observations = new Map<string, Observation>();
  private asked = 0;
  private fits = 0;

  constructor(
    private readonly space: SearchSpace,
    private readonly options: BayesOptions = {},
  ) {
    this.pool = new CandidatePool(space, options.seed ?? 0);
    this.rng = createRng(options.seed ?? 0);
    this.feasibility = new GaussianProcess(space);
    this.gp = new GaussianProcess(space, { priorMean: (c) => this.warp(this.prior(c)) });
    this.plainGp = new GaussianProcess(space);
    // One point per parameter plus one spans the space coarsely; a prior mean knows the shape
    // already, so fewer blind points are needed. Never more than a quarter of the space.
    const dims = space.params.length;
    const fallback = options.priorMean ? 2 : Math.min(dims + 1, 5);
    this.initialCount = Math.max(1, Math.min(options.initialPoints ?? fallback, Math.ceil(this.pool.size / 4)));
  }

  ask(): Config | undefined {
    const remaining = this.pool.remaining();
    if (remaining.length === 0) return undefined;
    const config = this.asked < this.initialCount || this.valued().length < 1 ? this.fromDesign(remaining) : this.fromSurrogate(remaining);
    this.pool.take(config);
    this.asked++;
    return config;
  }

  tell(observation: Observation): void {
    this.pool.take(observation.config);
    const key = configKey(observation.config);
    const previous = this.observations.get(key);
    // A configuration told twice (a re-run at a higher fidelity) counts once, at its best fidelity.
    if (!previous || (observation.fidelity ?? 1) >= (previous.fidelity ?? 1)) this.observations.set(key, observation);
  }

  // 1 (log of positive values), -1 (log of the magnitude of negative ones, negated) or 0 (as is).
  private warpSign: 1 | -1 | 0 = 0;

  private warp(v: number): number {
    if (this.warpSign === 1) return Math.log(Math.max(v, 1e-300));
    if (this.warpSign === -1) return -Math.log(Math.max(-v, 1e-300));
    return v;
  }

  private valued(): (Observation & { value: number })[] {
    return [...this.observations.values()].filter((o): o is Observation & { value: number } => o.value !== null);
  }

  /** Next point of the maximin design, given everything already asked or told. */
  private fromDesign(remaining: Config[]): Config {
    const seen = this.pool.all.filter((c) => !this.pool.has(c));
    // The first question goes to the prior's best, whatever the study measured on its own first
    // (the baseline): a maximin step away from the baseline lands in the opposite corner, which on
    // a GPU machine is a CPU configuration minutes slower than the answer.
    if (this.asked === 0 && this.priorUsable()) {
      const prior = remaining.map((c) => this.prior(c));
      return remaining[prior.indexOf(Math.max(...prior))];
    }
    if (seen.length === 0) {
      const candidates = shuffle(this.rng, remaining);
      let first = randomInt(this.rng, candidates.length);
      if (this.priorUsable()) {
        const prior = candidates.map((c) => this.prior(c));
        first = prior.indexOf(Math.max(...prior));
      }
      return maximinDesign(this.space, candidates, 1, [], first)[0];
    }
    return maximinDesign(this.space, shuffle(this.rng, remaining), 1, seen)[0];
  }

  private fromSurrogate(remaining: Config[]): Config {
    const all = [...this.observations.values()];
    const ok = this.valued();
    const useLog = this.options.logScale ?? true;
    this.warpSign = !useLog ? 0 : ok.every((o) => o.value > 0) ? 1 : ok.every((o) => o.value < 0) ? -1 : 0;
    // A prior that predicts a sign the log scale cannot take (a roofline saying 0 somewhere) is
    // still used, on the raw scale; one that is not a finite number everywhere is not used at all.
    const usePrior = this.priorUsable();
    if (usePrior && this.warpSign !== 0 && !this.pool.all.every((c) => Math.sign(this.prior(c)) === this.warpSign)) this.warpSign = 0;
    const gp = usePrior ? this.gp : this.plainGp;
    const mode = this.options.failures ?? "both";
    const worst = Math.min(...ok.map((o) => this.warp(o.value)));
    const modelled = mode === "feasibility" ? ok : all;
    const configs = modelled.map((o) => o.config);
    const values = modelled.map((o) => (o.value === null ? worst : this.warp(o.value)));
    const optimizeUpTo = this.options.optimizeUpTo ?? 30;
    const refitEvery = this.options.refitEvery ?? 4;
    const optimize = all.length <= optimizeUpTo || this.fits % refitEvery === 0;
    let predict: (cs: Config[]) => { mean: number; std: number }[];
    if (usePrior && (this.options.priorTrend ?? true)) {
      const trend = this.fitTrend(configs, values);
      this.plainGp.fitPoints(configs, values.map((v, i) => v - trend(configs[i])), { optimize });
      predict = (cs) => this.plainGp.predictMany(cs).map((p, i) => ({ mean: p.mean + trend(cs[i]), std: p.std }));
    } else {
      gp.fitPoints(configs, values, { optimize });
      predict = (cs) => gp.predictMany(cs);
    }
    this.fits++;

    // Incumbent: best posterior mean among configurations that produced a value (noise-robust).
    const atObserved = predict(ok.map((o) => o.config));
    const incumbent = Math.max(...atObserved.map((p) => p.mean));
    const predictions = predict(remaining);
    const pSuccess = mode !== "impute" && ok.length < all.length ? this.successProbability(all, remaining, optimize) : null;
    let best = 0;
    let bestEi = -Infinity;
    predictions.forEach((p, i) => {
      const ei = expectedImprovement(p.mean, p.std, incumbent) * (pSuccess ? pSuccess[i] : 1);
      // Ties (all EI ~ 0 far from the data) go to the higher mean: exploit when nothing promises.
      if (ei > bestEi + 1e-12 || (Math.abs(ei - bestEi) <= 1e-12 && p.mean > predictions[best].mean)) {
        bestEi = ei;
        best = i;
      }
    });
    return remaining[best];
  }

  /**
   * The bendable trend: ridge regression of the (warped) values on an intercept (free), the warped
   * prior (pulled toward 1) and each encoded parameter, centred (pulled toward 0). The penalty is
   * the one of TREND_LAMBDAS with the least leave-one-out squared error (1 with fewer than 3
   * points).
   */
  private fitTrend(configs: Config[], values: number[]): (c: Config) => number {
    const h = (c: Config): number[] => [1, this.warp(this.prior(c)), ...encodeConfig(this.space, c).map((x) => x - 0.5)];
    const rows = configs.map(h);
    const target = rows[0].map((_, j) => (j === 1 ? 1 : 0));
    let lambda = 1;
    if (rows.length >= 3) {
      let bestError = Infinity;
      for (const l of TREND_LAMBDAS) {
        let error = 0;
        for (let i = 0; i < rows.length; i++) {
          const keep = rows.map((_, j) => j).filter((j) => j !== i);
          const beta = ridge(keep.map((j) => rows[j]), keep.map((j) => values[j]), target, l);
          error += (values[i] - dot(rows[i], beta)) ** 2;
        }
        if (error < bestError - 1e-12) {
          bestError = error;
          lambda = l;
        }
      }
    }
    const beta = ridge(rows, values, target, lambda);
    return (c) => dot(h(c), beta);
  }

  /**
   * Probability that a trial succeeds, from a GP fit to +1 (succeeded) / -1 (failed) labels and
   * squashed through the normal CDF of mean over std: near a failure it is ~0, far from any trial
   * it falls back toward the observed success rate with the uncertainty the GP reports.
   */
  private successProbability(all: Observation[], candidates: Config[], optimize: boolean): number[] {
    this.feasibility.fitPoints(
      all.map((o) => o.config),
      all.map((o) => (o.value === null ? -1 : 1)),
      { optimize },
    );
    return this.feasibility.predictMany(candidates).map((p) => normalCdf(p.mean / Math.sqrt(p.std * p.std + 0.1)));
  }

  /** The prior mean of a configuration, computed once; NaN when there is none or it threw. */
  private prior(config: Config): number {
    const key = configKey(config);
    let v = this.priorCache.get(key);
    if (v === undefined) {
      try {
        v = this.options.priorMean ? this.options.priorMean(config) : Number.NaN;
      } catch {
        v = Number.NaN;
      }
      this.priorCache.set(key, v);
    }
    return v;
  }

  private priorUsable(): boolean {
    return this.options.priorMean !== undefined && this.pool.all.every((c) => Number.isFinite(this.prior(c)));
  }
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Ridge regression pulled toward `target`: minimizes |values - rows·β|² + λ Σ_{j>0} (β_j - target_j)²
 * (the first coefficient, the intercept, is unpenalized). ml-regression's ridge
 * (KernelRidgeRegression) pulls every coefficient toward 0, intercept included, so this one
 * solves its normal equations on ml-matrix.
 */
function ridge(rows: number[][], values: number[], target: number[], lambda: number): number[] {
  const k = target.length;
  const A = new Matrix(k, k);
  const b = new Array<number>(k).fill(0);
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < k; i++) {
      b[i] += rows[r][i] * values[r];
      for (let j = 0; j < k; j++) A.set(i, j, A.get(i, j) + rows[r][i] * rows[r][j]);
    }
  }
  for (let i = 0; i < k; i++) {
    const penalty = i === 0 ? 1e-6 : lambda;
    A.set(i, i, A.get(i, i) + penalty);
    b[i] += penalty * target[i];
  }
  return solve(A, Matrix.columnVector(b)).getColumn(0);
}
