// The report's charts: vega-lite specs compiled to vega and rendered to SVG in this process.
// Vega's headless "none" renderer draws SVG as text, so no browser and no canvas is involved;
// text widths are estimated, which is fine for axis labels.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import writeFileAtomic from "write-file-atomic";
import type { Param, TuneResult } from "../types.js";
import { measuredConfigs, metricUnit, predictedMetric, trialMetric, type Objective } from "./recommendation.js";
import { describeConfig } from "../format.js";
import { scalingAnalysis } from "./scaling.js";

export interface Chart {
  /** File name under charts/, e.g. "throughput.svg". */
  file: string;
  title: string;
  /** What the chart shows and how to read it, one or two sentences for the report. */
  caption: string;
  spec: TopLevelSpec;
}

function axisTitle(objective: Objective): string {
  const unit = metricUnit(objective.metric);
  return unit ? `${objective.metric} (${unit})` : objective.metric;
}

/** The parameters the heatmap is drawn over: workers x threads per sequence count, or the first numeric ones. */
function heatmapAxes(params: Param[]): { x: string; y: string; facet: string | null } | null {
  const names = params.map((p) => p.name);
  if (names.includes("workers") && names.includes("threads")) {
    return { x: "threads", y: "workers", facet: names.includes("sequences") ? "sequences" : null };
  }
  const numeric = params.filter((p) => p.kind !== "categorical").map((p) => p.name);
  if (numeric.length < 2) return null;
  return { x: numeric[0], y: numeric[1], facet: numeric[2] ?? null };
}

/**
 * Measured objective over workers x threads, one panel per sequence count. When other parameters
 * vary too (quantization, batch), a cell shows the best over them. Cells measured only in a short
 * trial are marked with "*": their numbers are hints, not measurements to compare.
 */
export function throughputChart(result: TuneResult): Chart | null {
  const objective = result.workload.objective;
  const axes = heatmapAxes(result.params);
  if (!axes) return singleParamChart(result);
  const rows: Record<string, number | string>[] = [];
  for (const m of measuredConfigs(result.trials, objective).values()) {
    rows.push({
      x: Number(m.config[axes.x]),
      y: Number(m.config[axes.y]),
      facet: axes.facet ? Number(m.config[axes.facet]) : 0,
      value: m.mean,
      full: m.fidelity >= 1 ? 1 : 0,
    });
  }
  if (rows.length === 0) return null;
  // Best per cell over the parameters not on the axes; a full-fidelity number beats a short one.
  const cells = new Map<string, Record<string, number | string>>();
  for (const r of rows) {
    const k = `${r.x}|${r.y}|${r.facet}`;
    const cur = cells.get(k);
    const better = !cur || Number(r.full) > Number(cur.full) || (r.full === cur.full && (objective.direction === "maximize" ? r.value > cur.value : r.value < cur.value));
    if (better) cells.set(k, r);
  }
  // Viridis is dark at the low end: labels on the bright half of the scale are drawn dark.
  const values = [...cells.values()].map((r) => Number(r.value));
  const mid = (Math.min(...values) + Math.max(...values)) / 2;
  const data = [...cells.values()].map((r) => ({
    ...r,
    label: `${formatCell(Number(r.value))}${r.full ? "" : "*"}`,
    bright: (objective.direction === "maximize" ? Number(r.value) > mid : Number(r.value) < mid) ? 1 : 0,
  }));
  const title = axisTitle(objective);
  const layer: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    data: { values: data },
    ...(axes.facet
      ? {
          facet: { column: { field: "facet", type: "ordinal", title: axes.facet } },
          spec: heatmapLayers(axes, title, objective),
        }
      : heatmapLayers(axes, title, objective)),
    config: { view: { stroke: null } },
  } as TopLevelSpec;
  return {
    file: "throughput.svg",
    title: `${objective.metric} over ${axes.y} x ${axes.x}${axes.facet ? `, one panel per ${axes.facet} count` : ""}`,
    caption: `Each cell is the measured mean at the highest fidelity that configuration reached${
      result.params.some((p) => p !== undefined && ![axes.x, axes.y, axes.facet].includes(p.name)) ? " (best over the other parameters)" : ""
    }; * marks a cell measured only in a short trial. Empty cells were not run (infeasible, failed or not chosen by the tuner).`,
    spec: layer,
  };
}

/** With one numeric parameter (a command tuned over --param threads=1,2,4 only): bars over it. */
function singleParamChart(result: TuneResult): Chart | null {
  const objective = result.workload.objective;
  const param = result.params.find((p) => p.kind !== "categorical");
  if (!param) return null;
  const best = new Map<number, { x: number; value: number; full: number }>();
  for (const m of measuredConfigs(result.trials, objective).values()) {
    const x = Number(m.config[param.name]);
    const full = m.fidelity >= 1 ? 1 : 0;
    const cur = best.get(x);
    const better = !cur || full > cur.full || (full === cur.full && (objective.direction === "maximize" ? m.mean > cur.value : m.mean < cur.value));
    if (better) best.set(x, { x, value: m.mean, full });
  }
  if (best.size === 0) return null;
  const data = [...best.values()].map((d) => ({ ...d, label: `${formatCell(d.value)}${d.full ? "" : "*"}` }));
  const title = axisTitle(objective);
  return {
    file: "throughput.svg",
    title: `${objective.metric} over ${param.name}`,
    caption: "Each bar is the measured mean at the highest fidelity that value reached; * marks one measured only in a short trial.",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      data: { values: data },
      width: { step: 44 },
      height: 220,
      encoding: { x: { field: "x", type: "ordinal", title: param.name, sort: "ascending" } },
      layer: [
        { mark: "bar", encoding: { y: { field: "value", type: "quantitative", title }, opacity: { condition: { test: "datum.full === 1", value: 1 }, value: 0.5 } } },
        { mark: { type: "text", dy: -6, fontSize: 10 }, encoding: { y: { field: "value", type: "quantitative" }, text: { field: "label" } } },
      ],
    } as TopLevelSpec,
  };
}

function heatmapLayers(axes: { x: string; y: string }, title: string, objective: Objective): object {
  return {
    width: { step: 44 },
    height: { step: 30 },
    encoding: {
      x: { field: "x", type: "ordinal", title: axes.x, sort: "ascending" },
      y: { field: "y", type: "ordinal", title: axes.y, sort: "descending" },
    },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: { field: "value", type: "quantitative", title, scale: { scheme: "viridis", reverse: objective.direction === "minimize" } },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "label" },
          color: { condition: { test: "datum.bright === 1", value: "#222222" }, value: "white" },
        },
      },
    ],
  };
}

function formatCell(v: number): string {
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Each trial's measurement against what the model predicted before it ran; on the diagonal is a perfect prediction. */
export function predictionChart(result: TuneResult): Chart | null {
  const objective = result.workload.objective;
  const data: { predicted: number; measured: number; fidelity: string }[] = [];
  for (const t of result.trials) {
    const measured = trialMetric(t, objective);
    const predicted = predictedMetric(t.prediction, objective);
    if (measured == null || predicted == null) continue;
    data.push({ predicted, measured, fidelity: t.fidelity >= 1 ? "full" : `short (${t.fidelity.toFixed(2)})` });
  }
  if (data.length === 0) return null;
  const lo = Math.min(...data.map((d) => Math.min(d.predicted, d.measured)));
  const hi = Math.max(...data.map((d) => Math.max(d.predicted, d.measured)));
  const title = axisTitle(objective);
  const source = result.trials.find((t) => t.prediction)?.prediction?.source ?? "model";
  return {
    file: "measured-vs-predicted.svg",
    title: "Measured against predicted",
    caption: `Each point is one trial: what the ${source} model predicted before it ran, and what was measured. Points on the diagonal were predicted exactly; above it, the configuration did better than predicted.`,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      width: 320,
      height: 320,
      layer: [
        {
          data: { values: [{ a: lo, b: lo }, { a: hi, b: hi }] },
          mark: { type: "line", color: "#999999", strokeDash: [4, 4] },
          encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
        },
        {
          data: { values: data },
          mark: { type: "point", filled: true, size: 50, opacity: 0.8 },
          encoding: {
            x: { field: "predicted", type: "quantitative", title: `predicted ${title}`, scale: { zero: false } },
            y: { field: "measured", type: "quantitative", title: `measured ${title}`, scale: { zero: false } },
            color: { field: "fidelity", type: "nominal", title: "fidelity" },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

/** Every trial over the run's time, and the best full-fidelity result found so far as a step line. */
export function progressChart(result: TuneResult): Chart | null {
  const objective = result.workload.objective;
  const better = (a: number, b: number) => (objective.direction === "maximize" ? a > b : a < b);
  const points: { seconds: number; value: number; fidelity: string }[] = [];
  const best: { seconds: number; best: number }[] = [];
  let sofar: number | null = null;
  // The line follows full-fidelity trials (what a recommendation rests on); a run that never
  // reached full fidelity gets a line through its short trials instead, and the caption says so.
  const anyFull = result.trials.some((t) => t.fidelity >= 1 && trialMetric(t, objective) != null);
  for (const t of [...result.trials].sort((a, b) => a.elapsedMs - b.elapsedMs)) {
    const v = trialMetric(t, objective);
    if (v == null) continue;
    const seconds = t.elapsedMs / 1000;
    points.push({ seconds, value: v, fidelity: t.fidelity >= 1 ? "full" : `short (${t.fidelity.toFixed(2)})` });
    if ((t.fidelity >= 1 || !anyFull) && (sofar === null || better(v, sofar))) {
      sofar = v;
      best.push({ seconds, best: v });
    }
  }
  if (points.length === 0) return null;
  if (best.length) best.push({ seconds: Math.max(result.elapsedMs / 1000, best[best.length - 1].seconds), best: best[best.length - 1].best });
  const title = axisTitle(objective);
  return {
    file: "best-so-far.svg",
    title: "Best so far against time",
    caption: anyFull
      ? "Points are trials, coloured by fidelity; the line is the best full-fidelity measurement found by then. A line that flattens early means a longer budget would likely not have found better."
      : "Points are trials, coloured by fidelity. No configuration reached a full trial, so the line is the best short-trial number found by then: a hint, not a measurement.",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      width: 480,
      height: 240,
      layer: [
        {
          data: { values: points },
          mark: { type: "point", filled: true, size: 35, opacity: 0.7 },
          encoding: {
            x: { field: "seconds", type: "quantitative", title: "seconds since the run started" },
            y: { field: "value", type: "quantitative", title, scale: { zero: false } },
            color: { field: "fidelity", type: "nominal", title: "fidelity" },
          },
        },
        {
          data: { values: best },
          mark: { type: "line", interpolate: "step-after", color: "#d62728", strokeWidth: 2 },
          encoding: {
            x: { field: "seconds", type: "quantitative" },
            y: { field: "best", type: "quantitative" },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

/**
 * Measured speedup against the processes x threads a configuration uses, with the USL fit drawn
 * through it and beyond (to where efficiency is predicted to halve, within reason) and the ideal
 * linear speedup for comparison.
 */
export function scalingChart(result: TuneResult): Chart | null {
  const analysis = scalingAnalysis(result);
  if (!analysis) return null;
  const ref = analysis.reference.units;
  const maxMeasured = Math.max(...analysis.rows.map((r) => r.units));
  const fit = analysis.fit;
  const interesting = [fit?.halfEfficiency, fit?.peak].filter((v): v is number => v != null && Number.isFinite(v));
  const xmax = Math.min(maxMeasured * 8, Math.max(maxMeasured * 2, ...interesting.map((v) => v * 1.1)));
  const lines: { units: number; speedup: number; series: string }[] = [
    { units: ref, speedup: 1, series: "ideal (linear)" },
    { units: xmax, speedup: xmax / ref, series: "ideal (linear)" },
  ];
  if (fit) {
    const steps = 60;
    for (let i = 0; i <= steps; i++) {
      const units = ref + ((xmax - ref) * i) / steps;
      lines.push({ units, speedup: fit.speedupAt(units), series: "USL fit" });
    }
  }
  const label = (c: Record<string, unknown>) => analysis.dimensions.map((d) => `${d}=${c[d]}`).join(" ");
  const points = analysis.rows.map((r) => ({ units: r.units, speedup: r.speedup, label: label(r.config), series: "measured" }));
  const held = Object.keys(analysis.heldAt).length ? ` (${describeConfig(analysis.heldAt)})` : "";
  const count = analysis.dimensions.join(" x ");
  return {
    file: "scaling.svg",
    title: `Speedup over ${count}`,
    caption:
      `Each point is a configuration measured at full fidelity${held}: its throughput over the reference's (${label(analysis.reference.config)}), against ${count}. ` +
      (fit ? "The line is the Universal Scalability Law fitted to them, extended beyond the measured counts as a prediction; " : "") +
      "the dashed line is linear speedup.",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      width: 420,
      height: 260,
      layer: [
        {
          data: { values: lines },
          mark: { type: "line", strokeWidth: 2 },
          encoding: {
            x: { field: "units", type: "quantitative", title: count },
            y: { field: "speedup", type: "quantitative", title: "speedup" },
            color: { field: "series", type: "nominal", title: null, scale: { domain: ["measured", "USL fit", "ideal (linear)"], range: ["#1f77b4", "#d62728", "#999999"] } },
            strokeDash: { field: "series", type: "nominal", legend: null, scale: { domain: ["USL fit", "ideal (linear)"], range: [[1, 0], [4, 4]] } },
          },
        },
        {
          data: { values: points },
          mark: { type: "point", filled: true, size: 60 },
          encoding: {
            x: { field: "units", type: "quantitative" },
            y: { field: "speedup", type: "quantitative" },
            color: { field: "series", type: "nominal" },
            tooltip: [{ field: "label" }, { field: "speedup", format: ".2f" }],
          },
        },
        {
          data: { values: points },
          mark: { type: "text", dx: 6, dy: -8, align: "left", fontSize: 9 },
          encoding: { x: { field: "units", type: "quantitative" }, y: { field: "speedup", type: "quantitative" }, text: { field: "label" } },
        },
      ],
    } as TopLevelSpec,
  };
}

/**
 * Decode throughput against time per output token (p95) of every full trial: the trade a serving
 * deployment makes, so that a user with a latency limit can pick another point. With
 * --max-latency the limit is drawn and trials over it are marked.
 */
export function latencyTradeChart(result: TuneResult): Chart | null {
  if (result.workload.objective.metric !== "decodeTps") return null;
  const limit = Number(result.workload.settings.maxLatencyMs ?? NaN);
  const data = result.trials
    .filter((t) => t.fidelity >= 1 && t.measurement.metrics.decodeTps !== undefined && t.measurement.metrics.tpotP95Ms !== undefined)
    .map((t) => ({
      tpot: t.measurement.metrics.tpotP95Ms!,
      tps: t.measurement.metrics.decodeTps!,
      config: describeConfig(t.config),
      within: Number.isFinite(limit) ? (t.measurement.metrics.tpotP95Ms! <= limit ? "within the limit" : "over the limit") : "measured",
    }));
  if (data.length < 2) return null;
  const layers: object[] = [
    {
      data: { values: data },
      mark: { type: "point", filled: true, size: 50, opacity: 0.8 },
      encoding: {
        x: { field: "tpot", type: "quantitative", title: "time per output token, p95 (ms)", scale: { type: "log" } },
        y: { field: "tps", type: "quantitative", title: "decode tok/s (all workers)", scale: { type: "log" } },
        color: { field: "within", type: "nominal", title: "" },
        tooltip: [{ field: "config" }],
      },
    },
  ];
  if (Number.isFinite(limit)) {
    layers.push({ data: { values: [{ limit }] }, mark: { type: "rule", color: "#c00", strokeDash: [4, 4] }, encoding: { x: { field: "limit", type: "quantitative" } } });
  }
  return {
    file: "throughput-latency.svg",
    title: "Throughput against latency",
    caption:
      "Each point is a full trial: the decode throughput of all workers against how long a sequence waited for each of its tokens (95th percentile). " +
      "More sequences raise throughput and each request's wait together; pick the point whose wait you can serve." +
      (Number.isFinite(limit) ? ` The dashed line is --max-latency (${limit} ms).` : ""),
    spec: { $schema: "https://vega.github.io/schema/vega-lite/v5.json", width: 420, height: 280, layer: layers } as TopLevelSpec,
  };
}

export function charts(result: TuneResult): Chart[] {
  return [throughputChart(result), scalingChart(result), predictionChart(result), progressChart(result), latencyTradeChart(result)].filter((c): c is Chart => c !== null);
}

/** Compiles a vega-lite spec and renders it to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders every chart into `<dir>/` and returns the charts that were written. */
export async function writeCharts(result: TuneResult, dir: string): Promise<Chart[]> {
  const list = charts(result);
  mkdirSync(dir, { recursive: true });
  for (const chart of list) await writeFileAtomic(join(dir, chart.file), await renderSvg(chart.spec));
  return list;
}
