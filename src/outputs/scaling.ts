// How a command scales with the processes and threads it is given: the table users write by hand
// (speedup and parallel efficiency at each count measured), and a Universal Scalability Law fit
// over the total count that says where throughput is predicted to peak and where efficiency falls
// below one half. The count is processes x threads (x nodes, ...): the cores a configuration
// occupies, which is what the USL's contention and coherency terms grow with.

import { fitUsl, type UslFit } from "../../models/usl.js";
import type { Config, TuneResult } from "../types.js";
import { scalingDimensions } from "../workloads/command-variables.js";
import { measuredConfigs } from "./recommendation.js";
import { describeConfig } from "../format.js";

export interface ScalingRow {
  config: Config;
  /** Processes x threads of this configuration. */
  units: number;
  /** The metric in its own units, as measured. */
  value: number;
  /** Throughput relative to the reference configuration (>1 is faster). */
  speedup: number;
  /** speedup / (units / reference units). */
  efficiency: number;
  /** The USL fit's speedup at this count, when there is a fit. */
  fitted: number | null;
}

export interface ScalingFit {
  sigma: number;
  kappa: number;
  /** Count where the fit's throughput peaks; null when it keeps rising (kappa 0). */
  peak: number | null;
  peakSpeedup: number | null;
  /** Count where the fit's efficiency falls below 50%; null when it never does. */
  halfEfficiency: number | null;
  /** Scatter of the measurements about the fit, relative. */
  residual: number;
  /** The fit's speedup at a count, relative to the reference count. */
  speedupAt: (units: number) => number;
}

export interface ScalingAnalysis {
  /** The parameters counted, in the order they multiply. */
  dimensions: string[];
  /** Other parameters, held at the recommendation's values for this analysis. */
  heldAt: Config;
  reference: ScalingRow;
  rows: ScalingRow[];
  /** First measured count whose efficiency is below 50%, if any. */
  measuredBelowHalf: number | null;
  fit: ScalingFit | null;
  /** Why there is no fit, or how far it can be trusted. */
  note: string;
}

/** Where USL efficiency 1 / (1 + sigma (N-1) + kappa N (N-1)) crosses one half. */
export function halfEfficiencyCount(sigma: number, kappa: number): number | null {
  if (kappa > 1e-12) {
    const b = sigma - kappa;
    return (-b + Math.sqrt(b * b + 4 * kappa * (1 + sigma))) / (2 * kappa);
  }
  return sigma > 1e-12 ? 1 + 1 / sigma : null;
}

/**
 * The scaling table and fit of a command tuning, or null when it has no process or thread count
 * or fewer than two counts were measured. Only full-fidelity measurements count (a short trial's
 * number is a hint); other parameters are held at the recommended configuration's values so that
 * the counts are compared with everything else equal.
 */
export function scalingAnalysis(result: TuneResult): ScalingAnalysis | null {
  if (result.workload.kind !== "command") return null;
  const dimensions = scalingDimensions(result.params, result.workload.command, result.workload.env);
  if (dimensions.length === 0) return null;
  const objective = result.workload.objective;
  const best = result.best?.config ?? result.baseline.config;
  const heldAt: Config = Object.fromEntries(Object.entries(best).filter(([k]) => !dimensions.includes(k)));
  const throughput = (v: number) => (objective.direction === "maximize" ? v : 1 / v);
  const points = [...measuredConfigs(result.trials, objective).values()]
    .filter((m) => m.fidelity >= 1 && m.mean > 0 && Object.entries(heldAt).every(([k, v]) => m.config[k] === v))
    .map((m) => ({ config: m.config, units: dimensions.reduce((u, d) => u * Number(m.config[d]), 1), value: m.mean, x: throughput(m.mean) }))
    .sort((a, b) => a.units - b.units || describeConfig(a.config).localeCompare(describeConfig(b.config)));
  if (new Set(points.map((p) => p.units)).size < 2) return null;

  // The reference is the best configuration at the smallest count (usually one process, one thread).
  const smallest = points.filter((p) => p.units === points[0].units);
  const ref = smallest.reduce((a, b) => (b.x > a.x ? b : a));
  let fit: UslFit | null = null;
  try {
    fit = fitUsl(points.map((p) => ({ n: p.units / ref.units, x: p.x })));
  } catch {
    fit = null;
  }
  const fittedSpeedup = fit ? (units: number) => fit!.predict(units / ref.units).mean / fit!.predict(1).mean : null;
  const rows: ScalingRow[] = points.map((p) => {
    const speedup = p.x / ref.x;
    return { config: p.config, units: p.units, value: p.value, speedup, efficiency: speedup / (p.units / ref.units), fitted: fittedSpeedup ? fittedSpeedup(p.units) : null };
  });
  const reference = rows.find((r) => r.config === ref.config)!;
  const below = rows.find((r) => r.efficiency < 0.5);
  const maxUnits = points[points.length - 1].units;
  let scalingFit: ScalingFit | null = null;
  let note: string;
  if (fit && fittedSpeedup) {
    // A peak below the reference count (contention sigma at its bound of 1) means adding never helped.
    const peak = Number.isFinite(fit.peak) ? Math.max(1, fit.peak) * ref.units : null;
    const half = halfEfficiencyCount(fit.sigma, fit.kappa);
    scalingFit = {
      sigma: fit.sigma,
      kappa: fit.kappa,
      peak,
      peakSpeedup: peak === null ? null : fittedSpeedup(peak),
      halfEfficiency: half === null ? null : half * ref.units,
      residual: fit.residualLogSd,
      speedupAt: fittedSpeedup,
    };
    const distinct = new Set(points.map((p) => p.units)).size;
    note =
      `USL fitted on ${points.length} full-fidelity measurements at ${distinct} counts up to ${maxUnits}; ` +
      // fitUsl assumes its scatter below four points, where three parameters leave no residual to read.
      (points.length > 3 ? `scatter about the fit ±${(fit.residualLogSd * 100).toFixed(0)}%` : "too few points to measure the scatter about the fit") +
      `. Counts beyond ${maxUnits} are extrapolated` +
      (distinct < 4 ? `, and from ${distinct} counts the contention and coherency terms are barely constrained: read the peak and the 50% point as rough` : "") +
      ".";
  } else {
    note = "the USL could not be fitted to these measurements; the table is the measured part only.";
  }
  return { dimensions, heldAt, reference, rows, measuredBelowHalf: below?.units ?? null, fit: scalingFit, note };
}
