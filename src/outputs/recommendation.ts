// A recommendation is what a user acts on: one configuration, where it came from, how sure we
// are, and how much faster it is than the plain setup. The .env, the report and `recommend()`
// all speak it, so that the three never disagree about the numbers.

import type { Config, ParamValue, Prediction, TrialRecord, TuneResult } from "../types.js";
import { configKey } from "../space.js";
import { highestFidelityTrials } from "../trials.js";
import { commandVariables, type CommandVariables } from "../workloads/command-variables.js";
import { separation, summaryFromMargin } from "../separation.js";

/** Where an answer came from: a past tuning of this machine and model, a fresh one, or the models alone. */
export type RecommendationSource = "store" | "tuned" | "predicted";

export interface Objective {
  metric: string;
  direction: "maximize" | "minimize";
}

/** How much one setting of the recommendation contributes, measured with the rest held equal. */
export interface SettingEffect {
  /** The baseline's value of this parameter. */
  baseline: ParamValue;
  /** Recommended / same configuration with this parameter at its baseline value; null when that twin was not measured. */
  speedup: number | null;
}

export interface Recommendation {
  source: RecommendationSource;
  config: Config;
  baseline: Config;
  objective: Objective;
  /**
   * The recommendation's objective in the metric's own units (tok/s, ms, ...). A measured value
   * has its relative 95% margin of error (null when the metric has none); a predicted one its
   * 95% interval (models/interval.ts) instead.
   */
  expected: { value: number | null; rme: number | null; interval?: [number, number] | null; unit: string; basis: "measured" | "predicted" };
  baselineValue: number | null;
  /** Expected speedup over the baseline (>1 is better, for either direction). */
  speedup: number | null;
  /** Its 95% interval: both margins of error and the run-to-run drift (src/tune/separation.ts); null when not known. */
  speedupInterval?: [number, number] | null;
  effects: Record<string, SettingEffect>;
  confidence: { level: "high" | "medium" | "low"; reason: string };
  /** The model file to load for the recommended quantization (llama workload). */
  modelPath: string | null;
  /** A command workload's template and the variables it set, for the .env to name what the program reads. */
  command?: CommandVariables;
  /** The machine; `gpuIndices` (nvidia-smi's) are the GPUs the workers were placed on. */
  hardware: { fingerprint: string; summary: string; gpuIndices?: number[] };
  /** When the numbers behind it were measured or predicted. */
  createdAt: string;
  /** One sentence saying what this answer rests on. */
  note: string;
  /** How many trials ran to get it (0 for a prediction). */
  trials: number;
}

export function metricUnit(metric: string): string {
  if (/tps$/i.test(metric)) return "tok/s";
  if (/ms$/i.test(metric)) return "ms";
  if (/bytes$/i.test(metric)) return "bytes";
  return "";
}

/** Speedup of `value` over `reference` such that >1 always means better. */
export function speedupOf(value: number, reference: number, direction: Objective["direction"]): number | null {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || value <= 0 || reference <= 0) return null;
  return direction === "maximize" ? value / reference : reference / value;
}

/** A trial's objective in the metric's units (the journal's `value` is negated for minimised metrics). */
export function trialMetric(trial: TrialRecord, objective: Objective): number | null {
  if (trial.measurement.status !== "ok") return null;
  const m = trial.measurement.metrics[objective.metric];
  if (typeof m === "number" && Number.isFinite(m)) return m;
  if (trial.value == null) return null;
  return objective.direction === "minimize" ? -trial.value : trial.value;
}

/** A prediction in the metric's units (predictions are of the larger-is-better objective). */
export function predictedMetric(prediction: Prediction | undefined | null, objective: Objective): number | null {
  if (!prediction || !Number.isFinite(prediction.mean)) return null;
  return objective.direction === "minimize" ? -prediction.mean : prediction.mean;
}

export interface MeasuredConfig {
  config: Config;
  key: string;
  /** Highest fidelity this configuration reached; only trials at that fidelity count. */
  fidelity: number;
  mean: number;
  samples: number[];
  rme: number | null;
  trials: TrialRecord[];
}

/**
 * Successful trials grouped by configuration, each at the highest fidelity it reached: a cheap
 * low-fidelity number must not stand beside a full one as if they were the same measurement.
 */
export function measuredConfigs(trials: TrialRecord[], objective: Objective): Map<string, MeasuredConfig> {
  const byKey = new Map<string, MeasuredConfig>();
  for (const [key, group] of highestFidelityTrials(trials, (t) => trialMetric(t, objective) != null)) {
    const samples = group.map((t) => trialMetric(t, objective)!);
    // Repeated trials of one config: keep the larger margin, the honest one.
    const rme = group.slice(1).reduce<number | null>((m, t) => Math.max(m ?? 0, t.measurement.rme), group[0].measurement.rme);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    byKey.set(key, { config: group[0].config, key, fidelity: group[0].fidelity, mean, samples, rme, trials: group });
  }
  return byKey;
}

/** The measured effect of each setting: best vs. best-with-this-one-parameter-at-baseline. */
export function settingEffects(config: Config, baseline: Config, measured: Map<string, MeasuredConfig>, objective: Objective): Record<string, SettingEffect> {
  const out: Record<string, SettingEffect> = {};
  const mine = measured.get(configKey(config));
  for (const name of Object.keys(config)) {
    const base = baseline[name] ?? config[name];
    let speedup: number | null = null;
    if (base === config[name]) speedup = 1;
    else if (mine) {
      const twin = measured.get(configKey({ ...config, [name]: base }));
      if (twin) speedup = speedupOf(mine.mean, twin.mean, objective.direction);
    }
    out[name] = { baseline: base, speedup };
  }
  return out;
}

/** The machine as a recommendation names it. */
export function recommendationHardware(result: Pick<TuneResult, "hardware">): Recommendation["hardware"] {
  const h = result.hardware;
  const gpuIndices = h.gpus.map((g) => g.index).sort((a, b) => a - b);
  return { fingerprint: h.fingerprint, summary: hardwareSummary(result), ...(gpuIndices.length ? { gpuIndices } : {}) };
}

/** One line about the machine, for the .env header and the report. */
export function hardwareSummary(result: Pick<TuneResult, "hardware">): string {
  const h = result.hardware;
  const cpu = `${h.cpu.model || h.cpu.vendor} (${h.cpu.physical} cores / ${h.cpu.logical} threads, ${h.limits.cpus} usable)`;
  const gpus = h.gpus.length ? `, ${h.gpus.map((g) => g.name).join(" + ")}` : "";
  return `${cpu}${gpus}`;
}

/** The model file that goes with a configuration's quantization. */
export function modelPathFor(result: Pick<TuneResult, "workload">, config: Config): string | null {
  const models = result.workload.models ?? [];
  if (typeof config.model === "string") return config.model;
  const quant = typeof config.quant === "string" ? config.quant : undefined;
  const match = quant ? models.find((m) => m.quant === quant) : undefined;
  return (match ?? models[0])?.path ?? null;
}

/**
 * Whether the recommendation is an answer: predicted, or measured with a value. A tuning where no
 * trial succeeded carries the untuned baseline, which must not reach a user's .env as if tuned.
 */
export function isAnswer(rec: Recommendation): boolean {
  return rec.expected.basis === "predicted" || rec.expected.value !== null;
}

/** Turns a finished tuning run into the recommendation a user acts on. */
export function recommendationFromResult(result: TuneResult, source: "store" | "tuned"): Recommendation {
  const objective = result.workload.objective;
  const measured = measuredConfigs(result.trials, objective);
  const best = result.best;
  const config = best?.config ?? result.baseline.config;
  const bestMeasured = best?.measured ?? result.baseline.measured;
  const baselineValue = result.baseline.measured?.mean ?? null;
  const speedup = best?.speedupMeasured ?? (bestMeasured && baselineValue != null ? speedupOf(bestMeasured.mean, baselineValue, objective.direction) : null);
  const speedupInterval = !best || !result.baseline.measured ? null : configKey(best.config) === configKey(result.baseline.config) ? ([1, 1] as [number, number]) : ratioInterval(best.measured!, result.baseline.measured, objective);
  const ok = result.trials.filter((t) => t.measurement.status === "ok").length;
  const when = result.createdAt.slice(0, 16).replace("T", " ");
  let note =
    source === "store"
      ? `From the store: this machine and model were tuned on ${when} UTC (${result.trials.length} trials, ${ok} ok); no trial ran now.`
      : `Tuned now: ${result.trials.length} trials (${ok} ok) in ${Math.round(result.elapsedMs / 1000)} s, ended by ${result.ended}.`;
  // Without a measured best the configuration is the untuned baseline; say so rather than let it
  // read like an answer.
  if (!best) note += " No configuration completed a trial: these are the baseline settings, not a recommendation; the report says why the trials failed.";
  return {
    source,
    config,
    baseline: result.baseline.config,
    objective,
    expected: { value: bestMeasured?.mean ?? null, rme: bestMeasured?.rme ?? null, unit: metricUnit(objective.metric), basis: "measured" },
    baselineValue,
    speedup,
    speedupInterval,
    effects: settingEffects(config, result.baseline.config, measured, objective),
    confidence: result.confidence,
    modelPath: modelPathFor(result, config),
    ...(result.workload.kind === "command" && result.workload.command ? { command: commandVariables(result.workload.command, result.workload.env) } : {}),
    hardware: recommendationHardware(result),
    createdAt: result.createdAt,
    note,
    trials: result.trials.length,
  };
}

/** The 95% interval of a measured speedup; null when a side has no margin of error. */
function ratioInterval(a: MeasuredValue, b: MeasuredValue, objective: Objective): [number, number] | null {
  const summary = (m: MeasuredValue) => summaryFromMargin(m.mean, m.rme, m.samples.length);
  const s = separation(summary(a), summary(b), { direction: objective.direction });
  return s ? s.interval : null;
}

type MeasuredValue = NonNullable<TuneResult["baseline"]["measured"]>;

/**
 * A speedup to 2-3 significant digits ("1.12x", "12x", "650x"): the margins behind it are
 * percents at best, so more digits would claim a precision nobody measured.
 */
export function formatSpeedup(s: number | null | undefined): string {
  if (s == null || !Number.isFinite(s)) return "-";
  return `${formatRatio(s)}x`;
}

function formatRatio(s: number): string {
  if (s < 10) return s.toFixed(2);
  if (s < 100) return s.toFixed(0);
  return String(Number(s.toPrecision(3)));
}

/** A speedup with its 95% interval: "650x [120-3600x]". */
export function formatSpeedupInterval(s: number | null | undefined, interval: [number, number] | null | undefined): string {
  if (s == null || !Number.isFinite(s)) return "-";
  if (!interval || !interval.every(Number.isFinite) || interval[0] === interval[1]) return formatSpeedup(s);
  return `${formatSpeedup(s)} [${formatRatio(interval[0])}-${formatRatio(interval[1])}x]`;
}

/** A value with its multiplicative 95% interval, "304 [120-770]"; the value alone without one. */
export function formatWithInterval(v: number | null | undefined, interval: [number, number] | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return "-";
  if (!interval || !interval.every(Number.isFinite)) return formatValue(v);
  return `${formatValue(v)} [${formatValue(interval[0])}-${formatValue(interval[1])}]`;
}

export function formatValue(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return "-";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * A relative 95% margin of error, "±18.6%". Over 100% the symmetric interval would reach below
 * zero, which a throughput or a latency cannot: such a value was not measured precisely.
 */
export function formatRme(rme: number | null | undefined): string {
  if (rme == null || !Number.isFinite(rme)) return "";
  return rme > 1 ? "(not measured precisely)" : `±${(rme * 100).toFixed(1)}%`;
}
