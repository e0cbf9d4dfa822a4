// report.md: what a person reads after a tuning run. It answers, in order: what should I run,
// how sure is that, what is this machine, which configurations came close, what failed and why,
// and the charts. Every number in it comes from the TuneResult; nothing is computed twice in a
// different way from the .env or `recommend()` (both go through recommendation.ts).

import type { Config, Param, RankedConfig, TuneResult } from "../types.js";
import { describeConfig, formatBytes, formatDuration } from "../format.js";
import { failureLine } from "../errors.js";
import type { Chart } from "./charts.js";
import { predictionInterval } from "../../models/interval.js";
import { formatRme, formatSpeedup, formatSpeedupInterval, formatValue, formatWithInterval, type Recommendation } from "./recommendation.js";
import { highestFidelityOf } from "../trials.js";
import { scalingAnalysis } from "./scaling.js";
import { mdTable } from "./markdown.js";
import { gpuBandwidthGbps } from "../../models/roofline.js";
import { gpuSection, growthSection, raceSection } from "./study-sections.js";

function paramCells(params: Param[], config: Config): string[] {
  return params.map((p) => String(config[p.name] ?? "-"));
}

function hardwareSection(result: TuneResult): string {
  const h = result.hardware;
  const lines = [
    `- CPU: ${h.cpu.model || h.cpu.vendor} (${h.cpu.arch}), ${h.cpu.sockets} socket(s), ${h.cpu.physical} cores / ${h.cpu.logical} threads, ${h.cpu.numaNodes.length || 1} NUMA node(s)`,
    `- Usable CPUs: ${h.limits.cpus} (${h.limits.cpuSource})`,
    `- Memory: ${formatBytes(h.memory.totalBytes)} total, ${formatBytes(h.memory.availableBytes)} available${h.limits.memoryBytes ? `, cgroup limit ${formatBytes(h.limits.memoryBytes)}` : ""}`,
    `- Caches: L2 ${formatBytes(h.cpu.l2Bytes)}, L3 ${formatBytes(h.cpu.l3Bytes)}; ISA: ${h.cpu.isa.join(", ") || "-"}`,
  ];
  if (h.bandwidth) lines.push(`- Memory bandwidth: ${h.bandwidth.peakGbps.toFixed(1)} GB/s peak, ${h.bandwidth.singleGbps.toFixed(1)} GB/s from one thread (${h.bandwidth.method})`);
  for (const g of h.gpus) {
    const bw = gpuBandwidthGbps(g.name);
    lines.push(
      `- GPU ${g.index}: ${g.name}, ${formatBytes(g.vramBytes)} (${formatBytes(g.vramFreeBytes)} free)${g.computeCapability ? `, compute ${g.computeCapability}` : ""}, ` +
        `${bw.gbps} GB/s memory bandwidth (${bw.known ? "data sheet by name" : "unknown GPU, assumed"}; not measured)`,
    );
  }
  if (h.gpuBackend) lines.push(`- node-llama-cpp GPU backend: ${h.gpuBackend.backend ?? `none (${h.gpuBackend.reason ?? "CPU only"})`}`);
  if (h.warnings.length) lines.push(`- Probe warnings: ${h.warnings.join("; ")}`);
  lines.push(`- Fingerprint: \`${h.fingerprint}\``);
  return lines.join("\n");
}

function workloadSection(result: TuneResult): string {
  const w = result.workload;
  const lines = [`- Kind: ${w.kind}; objective: ${w.objective.direction} ${w.objective.metric}`];
  if (w.command) lines.push(`- Command: \`${w.command}\``);
  for (const m of w.models ?? []) {
    lines.push(`- Model: ${m.name} (${m.architecture}, ${m.quant}, ${formatBytes(m.fileBytes)}, ${(m.parameterCount / 1e6).toFixed(1)}M parameters) \`${m.path}\``);
  }
  const settings = Object.entries(w.settings).map(([k, v]) => `${k}=${v}`).join(", ");
  if (settings) lines.push(`- Settings: ${settings}`);
  lines.push(`- Search space: ${result.params.map(describeParam).join("; ")}`);
  return lines.join("\n");
}

function describeParam(p: Param): string {
  if (p.kind === "int") return `${p.name} ${p.min}..${p.max}${p.log ? " (powers of two)" : ""}`;
  return `${p.name} {${p.values.join(", ")}}`;
}

function rankingRow(result: TuneResult, r: RankedConfig, i: number | string): string[] {
  const fidelity = r.fidelity ?? highestFidelityOf(result.trials, r.config, (t) => t.measurement.status === "ok")[0]?.fidelity ?? 0;
  return [
    String(i),
    ...paramCells(result.params, r.config),
    formatValue(r.measured?.mean),
    formatRme(r.measured?.rme) || "-",
    r.predicted ? formatWithInterval(r.predicted.mean, predictionInterval(r.predicted)) : "-",
    formatSpeedup(r.speedupMeasured),
    formatSpeedup(r.speedupPredicted),
    fidelity >= 1 ? "full" : fidelity > 0 ? fidelity.toFixed(2) : "-",
  ];
}

const percent = (x: number) => `${(x * 100).toFixed(0)}%`;
const count = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

/**
 * Speedup and parallel efficiency at each process x thread count measured, and what the USL fit
 * says beyond them: where throughput peaks and where efficiency falls below one half. Command
 * workloads only (see scaling.ts); nothing when fewer than two counts were measured.
 */
function scalingSection(result: TuneResult, charts: Chart[]): string[] {
  const a = scalingAnalysis(result);
  if (!a) return [];
  const metric = result.workload.objective.metric;
  const units = a.dimensions.join(" x ");
  const out = ["## Scaling", ""];
  const held = Object.keys(a.heldAt).length ? `, with ${describeConfig(a.heldAt)} as recommended` : "";
  out.push(`Throughput against ${units}${held}, relative to ${describeConfig(a.reference.config)}. Efficiency is speedup divided by the increase in ${units}.`, "");
  out.push(
    mdTable(
      [...a.dimensions, ...(a.dimensions.length > 1 ? [units] : []), `measured ${metric}`, "speedup", "efficiency", "USL speedup"],
      a.rows.map((r) => [
        ...a.dimensions.map((d) => String(r.config[d])),
        ...(a.dimensions.length > 1 ? [String(r.units)] : []),
        formatValue(r.value),
        formatSpeedup(r.speedup),
        percent(r.efficiency),
        formatSpeedup(r.fitted),
      ]),
    ),
    "",
  );
  const lines: string[] = [];
  if (a.measuredBelowHalf !== null) lines.push(`- Measured: efficiency first falls below 50% at ${units} = ${a.measuredBelowHalf}.`);
  else lines.push(`- Measured: efficiency stays at or above 50% up to ${units} = ${Math.max(...a.rows.map((r) => r.units))}.`);
  const f = a.fit;
  if (f) {
    lines.push(`- USL fit: contention sigma = ${f.sigma.toFixed(3)}, coherency kappa = ${f.kappa.toFixed(4)}.`);
    lines.push(
      f.peak === null
        ? "- Predicted peak: none; with no coherency cost the fit keeps rising (towards 1/sigma), so more processes or threads never lose, they only gain less."
        : f.peak <= a.reference.units
          ? `- Predicted peak: at the reference, ${units} = ${a.reference.units}: by the fit, more processes or threads only make the program slower.`
          : `- Predicted peak: ${formatSpeedup(f.peakSpeedup)} at ${units} = ${count(f.peak)}; beyond it, more processes or threads make the program slower.`,
    );
    lines.push(f.halfEfficiency === null ? "- Predicted efficiency stays above 50% at every count." : `- Predicted efficiency falls below 50% at ${units} = ${count(f.halfEfficiency)}.`);
  }
  lines.push(`- How sure: ${a.note}`);
  out.push(...lines, "");
  const chart = charts.find((c) => c.file === "scaling.svg");
  if (chart) out.push(`![${chart.title}](charts/${chart.file})`, "", chart.caption, "");
  return out;
}

export interface ReportOptions {
  /** The charts written beside the report (under charts/). */
  charts: Chart[];
  /** The .env file name and style, when one was written. */
  env?: { file: string; style: string };
}

export function renderReport(result: TuneResult, rec: Recommendation, options: ReportOptions): string {
  const ok = result.trials.filter((t) => t.measurement.status === "ok").length;
  const out: string[] = [];
  out.push("# paratune report", "");
  out.push(
    `Tuned ${result.createdAt.slice(0, 19).replace("T", " ")} UTC with the ${result.tuner} tuner: ${result.trials.length} trials (${ok} ok, ${result.trials.length - ok} not), ` +
      `${formatDuration(result.elapsedMs)} of a ${formatDuration(result.budgetMs)} budget, ended by ${result.ended}.`,
    "",
  );
  out.push("## Recommendation", "", ...recommendationSection(result, rec, options), "");
  out.push("## Hardware", "", hardwareSection(result), "");
  out.push("## Workload", "", workloadSection(result), "");
  out.push("## Best configurations", "", ...rankingSection(result));
  out.push(...raceSection(result), ...gpuSection(result), ...growthSection(result));
  const scaling = scalingSection(result, options.charts);
  out.push(...scaling);
  // The scaling chart stands in its own section, beside its table.
  const others = options.charts.filter((c) => !(scaling.length > 0 && c.file === "scaling.svg"));
  if (others.length) {
    out.push("## Charts", "");
    for (const c of others) out.push(`### ${c.title}`, "", `![${c.title}](charts/${c.file})`, "", c.caption, "");
  }
  out.push("## Failed trials", "", ...failedSection(result));
  out.push("## Infeasible configurations", "", ...infeasibleSection(result));
  return out.join("\n");
}

/** Where the recommendation's number comes from, in words: its race trials, its repetitions, or one number. */
function valueSource(result: TuneResult, metric: string, hasMargin: boolean): string {
  const best = result.best!;
  // The answer's number is the race's only when the race ranked the finalists: its samples are
  // then the race trials' values (a race that measured one finalist again leaves the trials' numbers).
  const entry = result.race?.finalists.find((f) => describeConfig(f.config) === describeConfig(best.config));
  const samples = best.measured?.samples ?? [];
  const raced = entry && entry.values.length > 0 && entry.values.length === samples.length && entry.values.every((v, i) => v === samples[i]) ? entry : undefined;
  const fidelity = best.fidelity ?? 1;
  if (raced?.values.length === 1) return `(its one final-race trial${fidelity < 1 ? `, a short one at fidelity ${fidelity}` : ""}: no margin of error)`;
  if (raced) return fidelity < 1 ? `(mean of its final-race trials, short ones at fidelity ${fidelity}, 95% margin of error over them)` : "(mean of its final-race trials, 95% margin of error over them)";
  const short = fidelity < 1 ? `, a short trial at fidelity ${fidelity}` : "";
  return hasMargin ? `(mean of the timed repetitions${short}, 95% margin of error)` : `(one number per trial${short}: ${metric} has no margin of error here)`;
}

function recommendationSection(result: TuneResult, rec: Recommendation, options: ReportOptions): string[] {
  if (!result.best) return ["No configuration completed a trial, so there is nothing to recommend. The failures below say why."];
  const obj = result.workload.objective;
  const unit = rec.expected.unit ? ` ${rec.expected.unit}` : "";
  const out: string[] = [`**${describeConfig(rec.config)}**`, ""];
  const withRme = (v: number | null | undefined, rme: number | null | undefined) => [`${formatValue(v)}${unit}`, formatRme(rme)].filter(Boolean).join(" ");
  out.push(
    `- ${obj.metric}: ${withRme(rec.expected.value, rec.expected.rme)} ` +
      valueSource(result, obj.metric, formatRme(rec.expected.rme) !== ""),
    `- Speedup: **${formatSpeedupInterval(rec.speedup, rec.speedupInterval)}** over the baseline ${describeConfig(rec.baseline)}` +
      (rec.baselineValue != null ? ` (${withRme(rec.baselineValue, result.baseline.measured?.rme)})` : " (baseline not measured)"),
    `- Confidence: **${rec.confidence.level}**: ${rec.confidence.reason}`,
  );
  const effects = Object.entries(rec.effects).filter(([name, e]) => e.baseline !== rec.config[name]);
  if (effects.length) {
    out.push(
      `- Each setting with the rest held equal: ${effects
        .map(([name, e]) => `${name} ${e.baseline} -> ${rec.config[name]}: ${e.speedup == null ? "not measured apart" : formatSpeedup(e.speedup)}`)
        .join("; ")}`,
    );
  }
  if (result.runnerUp) out.push(`- Runner-up: ${describeConfig(result.runnerUp.config)}, ${withRme(result.runnerUp.measured?.mean, result.runnerUp.measured?.rme)}, ${formatSpeedup(result.runnerUp.speedupMeasured)}`);
  if (rec.modelPath) out.push(`- Model file: \`${rec.modelPath}\``);
  if (options.env) out.push(`- Environment: \`${options.env.file}\` (style ${options.env.style}); load it with \`set -a; . ./${options.env.file}; set +a\` or your process manager's env-file option`);
  return out;
}

function rankingSection(result: TuneResult): string[] {
  if (!result.ranking.length) return ["No configuration was measured.", ""];
  const obj = result.workload.objective;
  const header = ["#", ...result.params.map((p) => p.name), `measured ${obj.metric}`, "±", "predicted", "speedup", "predicted speedup", "fidelity"];
  const rows = result.ranking.map((r, i) => rankingRow(result, r, i + 1));
  const baseInRanking = result.ranking.some((r) => describeConfig(r.config) === describeConfig(result.baseline.config));
  if (!baseInRanking) rows.push(rankingRow(result, result.baseline, "baseline"));
  return [
    mdTable(header, rows),
    "",
    "Measured: mean of the timed repetitions at the highest fidelity the configuration reached, with its relative margin of error at 95% confidence. " +
      "Configurations measured at full fidelity rank above those seen only in a short trial. " +
      "Predicted: the performance model calibrated on all of this run's trials, its mean and 95% interval [low-high] (log-normal: errors are multiplicative); " +
      "the predicted speedup is the ratio of that one model's predictions for the configuration and for the baseline. " +
      "A speedup in brackets is its 95% interval, counting both margins of error and the run-to-run drift.",
    "",
  ];
}

function failedSection(result: TuneResult): string[] {
  const failed = result.trials.filter((t) => t.measurement.status !== "ok");
  if (!failed.length) return ["None.", ""];
  return [
    mdTable(
      ["trial", ...result.params.map((p) => p.name), "status", "fidelity", "reason"],
      failed.map((t) => [String(t.id), ...paramCells(result.params, t.config), t.measurement.status, t.fidelity >= 1 ? "full" : t.fidelity.toFixed(2), failureLine(t.measurement.error) || "-"]),
    ),
    "",
  ];
}

function infeasibleSection(result: TuneResult): string[] {
  if (!result.infeasible.length) return ["None.", ""];
  const limit = 25;
  const out = [`${result.infeasible.length} configurations were ruled out before running, so no trial was spent on them.`, ""];
  out.push(
    mdTable(
      [...result.params.map((p) => p.name), "reason"],
      result.infeasible.slice(0, limit).map((i) => [...paramCells(result.params, i.config), i.reason]),
    ),
  );
  if (result.infeasible.length > limit) out.push("", `...and ${result.infeasible.length - limit} more (all in recommendation.json).`);
  out.push("");
  return out;
}
