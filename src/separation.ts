// Is one configuration really faster than another? Two measurements are compared on the log
// scale, where throughput and latency errors are multiplicative: the standard errors of the two
// means and the run-to-run drift add in quadrature (Welch's unequal-variance comparison, with
// the drift as a spread whose size was measured separately), and the ratio gets a 95% interval.
// The tuning run's ranking and the final race's interleaved re-measurements both come here.

import { mean as ssMean, sampleStandardDeviation } from "simple-statistics";
import { tCritical95 } from "./statistics.js";

/** One configuration's measurement of a positive metric: mean, standard error of the mean, count. */
export interface MeanEstimate {
  mean: number;
  /** Standard error of the mean in the metric's units; NaN when it is not known (one sample). */
  se: number;
  n: number;
}

export function summaryOf(samples: number[]): MeanEstimate {
  const n = samples.length;
  if (n === 0) return { mean: Number.NaN, se: Number.NaN, n };
  const m = ssMean(samples);
  return { mean: m, se: n >= 2 ? sampleStandardDeviation(samples) / Math.sqrt(n) : Number.NaN, n };
}

/**
 * A summary from a mean and its relative 95% margin of error (what a Measurement keeps), which
 * was computed as t(n-1) x se / mean.
 */
export function summaryFromMargin(mean: number, rme: number | null | undefined, n: number): MeanEstimate {
  const known = rme != null && Number.isFinite(rme) && n >= 2;
  return { mean, se: known ? (rme * Math.abs(mean)) / tCritical95(n - 1) : Number.NaN, n };
}

/** Relative standard error: the standard error of log(mean), to first order. */
export function relativeSe(s: MeanEstimate): number {
  return s.se / Math.abs(s.mean);
}

/**
 * How far two measurements of one configuration, minutes apart, differ beyond what the trials'
 * own margins of error show: on an idle 16-core Xeon, five re-measurements of 18 configurations
 * read 0.083-0.185 apart (mean |log ratio|; their 4-repetition margins predicted about 0.05),
 * whole landscapes recorded again on other machines of that kind 0.085-0.149, and the gap barely
 * depended on the trials' margins (docs/measurements/, fixtures/results/README.md).
 * The trials of a tuning run are minutes apart, so a lead must clear this too.
 */
export const RUN_TO_RUN_DRIFT = 0.1;

/**
 * The standard deviation of the log ratio of two such measurements: a normal spread whose mean
 * absolute value is RUN_TO_RUN_DRIFT has sd RUN_TO_RUN_DRIFT x sqrt(pi/2), about 0.125. The
 * observed gaps include the trials' own noise, so counting it on top of their margins errs on
 * the side of caution.
 */
export const DRIFT_SD = RUN_TO_RUN_DRIFT * Math.sqrt(Math.PI / 2);

export interface SeparationOptions {
  /** "minimize" for latency-like metrics: then a is better when smaller. Default "maximize". */
  direction?: "maximize" | "minimize";
  /**
   * Standard deviation of the log ratio that comes from measuring the two at different times
   * (default DRIFT_SD). Interleaved re-measurements, which share the machine's slow stretches,
   * may pass less.
   */
  driftSd?: number;
}

export interface Separation {
  /** How many times better a is than b (>1: a is better), in the objective's direction. */
  ratio: number;
  /** 95% interval of the ratio. */
  interval: [number, number];
  /** Standard error of log(ratio): both means' and the drift, in quadrature. */
  se: number;
  /** Welch-Satterthwaite degrees of freedom (the drift counts as known exactly). */
  df: number;
  /** log(ratio) / se: how many standard errors the lead is. */
  z: number;
  /** The whole 95% interval lies above 1: a is better beyond the noise. */
  separated: boolean;
}

/**
 * Compares a with b. Null when either mean is not positive or either standard error is unknown;
 * pass se = 0 to compare on the drift alone (and say so).
 */
export function separation(a: MeanEstimate, b: MeanEstimate, options: SeparationOptions = {}): Separation | null {
  if (!(a.mean > 0) || !(b.mean > 0) || !Number.isFinite(a.se) || !Number.isFinite(b.se)) return null;
  const drift = options.driftSd ?? DRIFT_SD;
  const va = relativeSe(a) ** 2;
  const vb = relativeSe(b) ** 2;
  const variance = va + vb + drift ** 2;
  const se = Math.sqrt(variance);
  const part = (v: number, n: number) => (v > 0 && n >= 2 ? v ** 2 / (n - 1) : 0);
  const denominator = part(va, a.n) + part(vb, b.n);
  const df = denominator > 0 ? variance ** 2 / denominator : Number.POSITIVE_INFINITY;
  const sign = options.direction === "minimize" ? -1 : 1;
  const logRatio = sign * Math.log(a.mean / b.mean);
  const half = tCritical95(Math.max(1, Math.floor(df))) * se;
  return {
    ratio: Math.exp(logRatio),
    interval: [Math.exp(logRatio - half), Math.exp(logRatio + half)],
    se,
    df,
    z: se > 0 ? logRatio / se : Number.POSITIVE_INFINITY,
    separated: logRatio - half > 0,
  };
}
