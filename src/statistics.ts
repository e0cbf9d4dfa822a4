// Summaries of repeated measurements, reported the way tinybench does: the mean of the samples and
// the relative margin of error (half-width of the 95% confidence interval over the mean).
import type { Fidelity, Measurement, Metrics, TrialStatus } from "./types.js";
import { mean as ssMean, quantileSorted, sampleStandardDeviation } from "simple-statistics";

// Two-sided 95% critical values of Student's t for 1..30 degrees of freedom. Trials have a handful
// of repetitions, where the normal 1.96 would understate the uncertainty by a factor of up to 6.
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12,
  2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tCritical95(degreesOfFreedom: number): number {
  if (degreesOfFreedom < 1) return Number.POSITIVE_INFINITY;
  if (degreesOfFreedom <= T95.length) return T95[degreesOfFreedom - 1];
  if (degreesOfFreedom <= 60) return 2.0;
  if (degreesOfFreedom <= 120) return 1.98;
  return 1.96;
}

export interface Summary {
  mean: number;
  /** Relative margin of error at 95% confidence, as a fraction; Infinity with fewer than 2 samples. */
  rme: number;
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { mean: Number.NaN, rme: Number.POSITIVE_INFINITY };
  const m = ssMean(samples);
  if (samples.length < 2) return { mean: m, rme: Number.POSITIVE_INFINITY };
  const sem = sampleStandardDeviation(samples) / Math.sqrt(samples.length);
  const halfWidth = sem * tCritical95(samples.length - 1);
  return { mean: m, rme: m === 0 ? Number.POSITIVE_INFINITY : Math.abs(halfWidth / m) };
}

/** The p-th quantile (0..1) of the values; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  return quantileSorted([...values].sort((a, b) => a - b), p);
}

/** A trial that produced no samples (failed, timed out, infeasible): its status and why. */
export function unmeasured(
  primary: string,
  fidelity: Fidelity,
  startedMs: number,
  status: TrialStatus,
  error?: string,
  metrics: Metrics = {},
): Measurement {
  return {
    status,
    metrics,
    primary,
    samples: [],
    warmup: 0,
    rme: Number.POSITIVE_INFINITY,
    error,
    durationMs: performance.now() - startedMs,
    fidelity,
  };
}
