// The one definition of a prediction's 95% interval, used by the models' coverage checks, the
// `predict` command and the report. Throughput errors are multiplicative, so a prediction is
// read as log-normal: its mean and std (moment-matched) give a log-scale sd, and the interval is
// mean x exp(±1.96 sd), never below zero.

import type { Prediction } from "../src/types.js";

/** The two-sided level of the interval, and its normal quantile. */
export const INTERVAL_LEVEL = 0.95;
const Z = 1.959964;

/** Standard deviation of log(value) for a log-normal with this mean and std. */
export function logSd(p: Prediction): number {
  return Math.sqrt(Math.log1p((p.std / p.mean) ** 2));
}

/** The 95% interval of a prediction; [NaN, NaN] when its mean is not positive or its std is unknown. */
export function predictionInterval(p: Prediction): [number, number] {
  if (!(p.mean > 0) || !Number.isFinite(p.std) || p.std < 0) return [Number.NaN, Number.NaN];
  const s = logSd(p);
  return [p.mean * Math.exp(-Z * s), p.mean * Math.exp(Z * s)];
}

/** Whether a measured value lies inside the prediction's 95% interval. */
export function insideInterval(p: Prediction, measured: number): boolean {
  const [lo, hi] = predictionInterval(p);
  return measured >= lo && measured <= hi;
}
