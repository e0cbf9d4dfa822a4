import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TuneResult } from "../types.js";
import { charts, renderSvg } from "./charts.js";
import { loadResult, readRecommendationFile, rebuildReport, writeOutputs } from "./index.js";
import { recommendationFromResult } from "./recommendation.js";

// A real tuning run of src/outputs/test-programs/hashwork.mjs recorded with `tune()` on the
// 2-core dev VM (see fixtures/results/README.md): 14 trials, 4 of them failed by the program.
const fixture = fileURLToPath(new URL("../../fixtures/results/hashwork-2core", import.meta.url));
const recorded = JSON.parse(readFileSync(join(fixture, "result.json"), "utf8")) as TuneResult;

function countMatches(s: string, re: RegExp): number {
  return (s.match(re) ?? []).length;
}

describe("charts", () => {
  it("renders the throughput heatmap to SVG with one cell per measured (workers, threads, sequences)", async () => {
    const list = charts(recorded);
    const heat = list.find((c) => c.file === "throughput.svg");
    expect(heat).toBeDefined();
    const svg = await renderSvg(heat!.spec);
    expect(svg.startsWith("<svg")).toBe(true);
    // 8 configurations completed a trial: 2 workers x 2 threads x 2 sequence counts (16 always failed).
    const cells = new Set(recorded.trials.filter((t) => t.measurement.status === "ok").map((t) => `${t.config.workers},${t.config.threads},${t.config.sequences}`));
    expect(cells.size).toBe(8);
    const rects = svg.match(/<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/gs) ?? [];
    const rectPaths = rects.reduce((n, g) => n + countMatches(g, /<path /g), 0);
    expect(rectPaths).toBe(cells.size);
    // One panel per sequence count that has data, each labelled.
    expect(svg).toContain(">sequences</text>");
    // The baseline cell's label is its full-fidelity mean, unstarred; short-trial cells carry a *.
    const base = recorded.baseline.measured!.mean;
    expect(svg).toContain(`>${base.toFixed(0)}</text>`);
    expect(countMatches(svg, /\d\*<\/text>/g)).toBeGreaterThan(0);
  });

  it("draws best-so-far as a step line over every successful trial", async () => {
    const chart = charts(recorded).find((c) => c.file === "best-so-far.svg")!;
    const svg = await renderSvg(chart.spec);
    const points = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect(countMatches(points, /<path /g)).toBe(recorded.trials.filter((t) => t.measurement.status === "ok").length);
    expect(svg).toMatch(/class="mark-line role-mark/);
  });

  it("draws bars over the parameter when a command was tuned over one numeric parameter", async () => {
    // The same real trials seen as a tuning over threads alone (workers=1, sequences=1).
    const only = recorded.trials
      .filter((t) => t.config.workers === 1 && t.config.sequences === 1)
      .map((t) => ({ ...t, config: { threads: t.config.threads } }));
    const single: TuneResult = { ...recorded, params: [{ name: "threads", kind: "ordinal", values: [1, 2] }], trials: only };
    const chart = charts(single).find((c) => c.file === "throughput.svg")!;
    expect(chart.title).toBe("value over threads");
    const svg = await renderSvg(chart.spec);
    const bars = svg.match(/<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect(countMatches(bars, /<path /g)).toBe(2);
  });

  it("leaves out measured-vs-predicted when no trial carried a prediction", () => {
    expect(recorded.trials.some((t) => t.prediction)).toBe(false);
    expect(charts(recorded).map((c) => c.file)).not.toContain("measured-vs-predicted.svg");
  });
});

describe("writeOutputs and paratune report", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "paratune-out-"));
    // The run's folder as tune() left it: study.json, trials.jsonl, result.json.
    cpSync(fixture, dir, { recursive: true });
    await writeOutputs(recorded, dir, { envStyle: "generic" });
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it("writes recommendation.json, .env, report.md and the charts", () => {
    for (const f of ["recommendation.json", ".env", "report.md", "charts/throughput.svg", "charts/best-so-far.svg", "trials.jsonl"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const file = readRecommendationFile(dir);
    expect(file.recommendation.config).toEqual(recorded.best!.config);
    expect(file.recommendation.source).toBe("tuned");
    expect(file.env.values.PARALLEL_WORKERS).toBe(String(recorded.best!.config.workers));
    expect(file.env.values.INFERENCE_NUM_THREADS).toBe(String(recorded.best!.config.threads));
    expect(file.env.values.PARALLEL_SEQUENCES).toBe(String(recorded.best!.config.sequences));
  });

  it("comments each .env value with the measured speedup", () => {
    const env = readFileSync(join(dir, ".env"), "utf8");
    const speedup = recommendationFromResult(recorded, "tuned").speedup!;
    expect(env).toContain(`${speedup.toFixed(2)}x the baseline`);
    const lines = env.split("\n");
    for (const name of ["PARALLEL_WORKERS", "INFERENCE_NUM_THREADS", "PARALLEL_SEQUENCES"]) {
      const i = lines.findIndex((l) => l.startsWith(`${name}=`));
      expect(lines[i - 1]).toMatch(/^# paratune: /);
    }
  });

  it("reports the recommendation, the ranking with margins and the failed trials with their reasons", () => {
    const report = readFileSync(join(dir, "report.md"), "utf8");
    expect(report).toContain("## Recommendation");
    expect(report).toContain(`Confidence: **${recorded.confidence.level}**`);
    // Every ranked configuration is a row of the table.
    const start = report.indexOf("## Best configurations");
    const section = report.slice(start, report.indexOf("\n## ", start));
    const rows = section.split("\n").filter((l) => /^\| \d+ \|/.test(l));
    expect(rows).toHaveLength(recorded.ranking.length);
    // The program's own error line is quoted for each failed trial.
    const failed = recorded.trials.filter((t) => t.measurement.status === "failed");
    expect(failed.length).toBe(4);
    expect(countMatches(report, /16 streams leave chunks under 8 KiB/g)).toBe(failed.length);
    expect(report).toContain("![");
    expect(report).toContain("charts/throughput.svg");
  });

  it("rebuilds the same report from the journal", async () => {
    const before = readFileSync(join(dir, "report.md"), "utf8");
    rmSync(join(dir, "report.md"));
    rmSync(join(dir, "charts"), { recursive: true });
    await rebuildReport(dir);
    expect(readFileSync(join(dir, "report.md"), "utf8")).toBe(before);
    expect(existsSync(join(dir, "charts/throughput.svg"))).toBe(true);
  });

  it("says an answer resting on one race trial has no margin, and claims no tie the race did not show", async () => {
    // The README's 1-minute tune on 2 cores: one round of short race trials (fixtures/results/README.md).
    const run = mkdtempSync(join(tmpdir(), "paratune-one-race-"));
    onTestFinished(() => rmSync(run, { recursive: true, force: true }));
    cpSync(fileURLToPath(new URL("../../fixtures/results/qwen05b-1m-2core", import.meta.url)), run, { recursive: true });
    await rebuildReport(run);
    const report = readFileSync(join(run, "report.md"), "utf8");
    expect(report).toMatch(/- decodeTps: 229 tok\/s \(its one final-race trial, a short one at fidelity 0\.25: no margin of error\)/);
    expect(report).toMatch(/one race trial each: no spread to judge by yet\): the answer leads, but not beyond noise, so another finalist may be as good/);
    expect(report).not.toMatch(/about as good|95% margin of error over them/);
  });

  it("rewrites the run folder's .env whole when rebuilt in another style: no stale names", async () => {
    await rebuildReport(dir, { envStyle: "omp" });
    const env = readFileSync(join(dir, ".env"), "utf8");
    expect(env).toMatch(/^OMP_NUM_THREADS=/m);
    // The variables the command itself set stay: the program reads them whatever the style.
    expect(env).toMatch(/^INFERENCE_NUM_THREADS=/m);
    await rebuildReport(dir, { envStyle: "generic" });
    const generic = readFileSync(join(dir, ".env"), "utf8");
    expect(generic).toMatch(/^INFERENCE_NUM_THREADS=/m);
    expect(generic).not.toMatch(/OMP_NUM_THREADS|MKL_NUM_THREADS/);
  });

  it("writes an honest report when no trial succeeded", async () => {
    // The run's own failed trials alone (sequences=16, refused by the program).
    const failedDir = mkdtempSync(join(tmpdir(), "paratune-out-"));
    cpSync(fixture, failedDir, { recursive: true });
    const failedLines = readFileSync(join(failedDir, "trials.jsonl"), "utf8").trim().split("\n").filter((l) => JSON.parse(l).measurement.status !== "ok");
    writeFileSync(join(failedDir, "trials.jsonl"), failedLines.join("\n") + "\n");
    const written = await rebuildReport(failedDir);
    expect(written.recommendation.speedup).toBeNull();
    expect(written.recommendation.note).toMatch(/not a recommendation/);
    const report = readFileSync(join(failedDir, "report.md"), "utf8");
    expect(report).toContain("No configuration completed a trial");
    expect(countMatches(report, /16 streams leave chunks/g)).toBe(failedLines.length);
    rmSync(failedDir, { recursive: true, force: true });
  });

  it("recomputes the ranking when the journal holds fewer trials than the result did", () => {
    const lines = readFileSync(join(dir, "trials.jsonl"), "utf8").trim().split("\n");
    const short = mkdtempSync(join(tmpdir(), "paratune-out-"));
    cpSync(dir, short, { recursive: true });
    // Keep the baseline and the first short trials only: the ranking must follow the journal.
    const kept = lines.slice(0, 3);
    writeFileSync(join(short, "trials.jsonl"), kept.join("\n") + "\n");
    const result = loadResult(short);
    expect(result.trials).toHaveLength(3);
    // Trial 1 failed; the full-fidelity baseline ranks above trial 2's short (1/3) one.
    expect(result.ranking.map((r) => [r.config, r.measured?.mean])).toEqual([
      [{ workers: 1, threads: 1, sequences: 1 }, 289.59666666666664],
      [{ workers: 1, threads: 2, sequences: 1 }, 236.33],
    ]);
    expect(result.best?.config).toEqual({ workers: 1, threads: 1, sequences: 1 });
    rmSync(short, { recursive: true, force: true });
  });
});

describe("a real llama run (fixtures/results/llama-tiny-2core)", () => {
  const llamaFixture = fileURLToPath(new URL("../../fixtures/results/llama-tiny-2core", import.meta.url));
  const llama = JSON.parse(readFileSync(join(llamaFixture, "result.json"), "utf8")) as TuneResult;

  it("plots every successful trial's measurement against its prediction", async () => {
    const chart = charts(llama).find((c) => c.file === "measured-vs-predicted.svg");
    expect(chart).toBeDefined();
    const svg = await renderSvg(chart!.spec);
    const withPrediction = llama.trials.filter((t) => t.prediction && t.measurement.status === "ok");
    expect(withPrediction.length).toBeGreaterThan(5);
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect(countMatches(symbols, /<path /g)).toBe(withPrediction.length);
    expect(svg).toContain("predicted decodeTps (tok/s)");
  });

  it("writes the model file of the recommended quantization and reports predictions, timeouts and infeasible configurations", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paratune-out-"));
    cpSync(llamaFixture, dir, { recursive: true });
    const written = await writeOutputs(llama, dir, { envStyle: "llama-server" });
    const quant = llama.best!.config.quant;
    expect(written.env.LLAMA_ARG_MODEL).toBe(llama.workload.models!.find((m) => m.quant === quant)!.path);
    expect(written.env.LLAMA_ARG_N_PARALLEL).toBe(String(llama.best!.config.sequences));
    expect(written.env.LLAMA_ARG_THREADS).toBe(String(llama.best!.config.threads));
    const report = readFileSync(join(dir, "report.md"), "utf8");
    expect(report).toContain("charts/measured-vs-predicted.svg");
    expect(countMatches(report, /\| timeout \|/g)).toBe(llama.trials.filter((t) => t.measurement.status === "timeout").length);
    expect(report).toContain(`${llama.infeasible.length} configurations were ruled out`);
    expect(report).toContain(llama.infeasible[0].reason);
    // The predicted column shows the model's mean and its multiplicative 95% interval.
    expect(report).toMatch(/\| 1 \| .* \| \d+ \[\d+(\.\d+)?-\d+\] \|/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("rebuilds predicted speedups from one model state: each is the ratio of that model's predictions", () => {
    const result = loadResult(llamaFixture);
    const base = result.baseline.predicted!.mean;
    expect(result.ranking.length).toBe(8);
    for (const r of result.ranking) expect(r.speedupPredicted).toBeCloseTo(r.predicted!.mean / base, 6);
    // The recorded run's best measured 650x its baseline (an oversubscribed machine, see
    // fixtures/results/README.md); its stored per-trial predictions said 1.12x, rows below it 2.5-5.2x.
    expect(result.best!.speedupPredicted).toBeGreaterThan(10);
    expect(result.best!.config).toEqual({ workers: 1, threads: 1, sequences: 8, quant: "q4_0" });
  });

  it("prints no interval through zero, no margin over 100% as a ±, and speedups to 2-3 digits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paratune-out-"));
    cpSync(llamaFixture, dir, { recursive: true });
    await rebuildReport(dir);
    const report = readFileSync(join(dir, "report.md"), "utf8");
    // Every ± printed is at most 100%.
    for (const m of report.matchAll(/±(\d+(\.\d+)?)%/g)) expect(Number(m[1])).toBeLessThanOrEqual(100);
    expect(report).not.toMatch(/\d ± \d/);
    expect(report).toMatch(/2\.46 tok\/s \(not measured precisely\)/);
    // Interval bounds are positive and ordered around the value.
    for (const m of report.matchAll(/(\d+(?:\.\d+)?) \[(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\]/g)) {
      const [v, lo, hi] = [Number(m[1]), Number(m[2]), Number(m[3])];
      expect(lo).toBeGreaterThan(0);
      expect(lo).toBeLessThanOrEqual(v);
      expect(hi).toBeGreaterThanOrEqual(v);
    }
    expect(report).toMatch(/Speedup: \*\*650x \[\d+-\d+x\]\*\*/);
    expect(report).not.toMatch(/\d{2,}\.\d+x/);
    rmSync(dir, { recursive: true, force: true });
  });
});
