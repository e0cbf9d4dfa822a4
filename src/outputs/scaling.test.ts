// The scaling table and USL fit of a command tuning, on measurements whose answers are known.
import { describe, expect, it } from "vitest";
import { commandResult } from "../testing/command-result.js";
import type { Config } from "../types.js";
import { charts, renderSvg } from "./charts.js";
import { recommendationFromResult } from "./recommendation.js";
import { renderReport } from "./report.js";
import { halfEfficiencyCount, scalingAnalysis } from "./scaling.js";
import { scalingDimensions } from "../workloads/command-variables.js";

/** Throughput that follows the USL exactly: X(N) = 100 N / (1 + sigma (N-1) + kappa N (N-1)). */
const usl = (n: number, sigma: number, kappa: number) => (100 * n) / (1 + sigma * (n - 1) + kappa * n * (n - 1));

describe("scaling analysis", () => {
  it("finds the counts by name, or by the thread-count variable a parameter sets", () => {
    const r = commandResult("mpirun -np {np} ./p --chunk {chunk}", { OMP_NUM_THREADS: "{c}" }, [[{ np: 1, c: 1, chunk: 8 }, 1]]);
    expect(scalingDimensions(r.params, r.workload.command, r.workload.env)).toEqual(["np", "c"]);
  });

  it("tabulates speedup and efficiency per count and recovers the USL's peak and 50% point", () => {
    const sigma = 0.05;
    const kappa = 0.002;
    const values: [Config, number][] = [];
    for (const np of [1, 2, 4, 8]) for (const t of [1, 2]) values.push([{ np, t }, usl(np * t, sigma, kappa)]);
    const a = scalingAnalysis(commandResult("mpirun -np {np} ./p", { OMP_NUM_THREADS: "{t}" }, values))!;
    expect(a.dimensions).toEqual(["np", "t"]);
    expect(a.reference.config).toEqual({ np: 1, t: 1 });
    const at8 = a.rows.find((r) => r.config.np === 4 && r.config.t === 2)!;
    expect(at8.units).toBe(8);
    expect(at8.speedup).toBeCloseTo(usl(8, sigma, kappa) / 100, 6);
    expect(at8.efficiency).toBeCloseTo(usl(8, sigma, kappa) / 800, 6);
    // Exact data: the fit lands on the generating parameters (within the priors' pull).
    expect(a.fit!.sigma).toBeCloseTo(sigma, 2);
    expect(a.fit!.peak!).toBeGreaterThan(0.8 * Math.sqrt((1 - sigma) / kappa));
    expect(a.fit!.peak!).toBeLessThan(1.2 * Math.sqrt((1 - sigma) / kappa));
    const half = halfEfficiencyCount(sigma, kappa)!;
    // Efficiency at the 50% point is one half, by the USL's own formula.
    expect(1 / (1 + sigma * (half - 1) + kappa * half * (half - 1))).toBeCloseTo(0.5, 9);
    expect(a.fit!.halfEfficiency!).toBeGreaterThan(0.8 * half);
    expect(a.fit!.halfEfficiency!).toBeLessThan(1.2 * half);
    expect(a.measuredBelowHalf).toBe(16);
  });

  it("reads a minimised run time as throughput: half the time is twice the speed", () => {
    const a = scalingAnalysis(
      commandResult("python3 job.py", { WORKERS: "{workers}" }, [
        [{ workers: 1 }, 1000],
        [{ workers: 2 }, 520],
        [{ workers: 4 }, 400],
      ], "minimize"),
    )!;
    expect(a.rows.map((r) => Number(r.speedup.toFixed(3)))).toEqual([1, 1.923, 2.5]);
    expect(a.rows.map((r) => Number(r.efficiency.toFixed(3)))).toEqual([1, 0.962, 0.625]);
    expect(a.measuredBelowHalf).toBeNull();
  });

  it("holds other parameters at the recommended values and needs two counts", () => {
    const r = commandResult("./p -n {np} -b {batch}", undefined, [
      [{ np: 1, batch: 8 }, 100],
      [{ np: 2, batch: 8 }, 150],
      [{ np: 1, batch: 64 }, 180],
      [{ np: 2, batch: 64 }, 340],
    ]);
    const a = scalingAnalysis(r)!;
    expect(a.heldAt).toEqual({ batch: 64 });
    expect(a.rows.map((x) => x.speedup)).toEqual([1, 340 / 180]);
    expect(scalingAnalysis(commandResult("./p -n {np}", undefined, [[{ np: 4 }, 100]]))).toBeNull();
  });

  it("puts the table, the peak, the 50% point and the chart in the report", async () => {
    const values: [Config, number][] = [1, 2, 4, 8].map((np) => [{ np }, usl(np, 0.04, 0.01)]);
    const result = commandResult("mpirun -np {np} ./p", undefined, values);
    const list = charts(result);
    const chart = list.find((c) => c.file === "scaling.svg")!;
    const svg = await renderSvg(chart.spec);
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect((symbols.match(/<path /g) ?? []).length).toBe(4);
    expect(svg).toContain(">USL fit</text>");
    const report = renderReport(result, recommendationFromResult(result, "tuned"), { charts: list });
    const section = report.slice(report.indexOf("## Scaling"), report.indexOf("## Failed trials"));
    expect(section).toContain("| np | measured value | speedup | efficiency | USL speedup |");
    expect(section).toMatch(new RegExp(`\\| 8 \\| [0-9.]+ \\| ${(usl(8, 0.04, 0.01) / 100).toFixed(2)}x \\| ${((usl(8, 0.04, 0.01) / 800) * 100).toFixed(0)}% \\|`));
    expect(section).toMatch(/Predicted peak: [0-9.]+x at np = [0-9.]+/);
    expect(section).toMatch(/Predicted efficiency falls below 50% at np = [0-9.]+/);
    expect(section).toContain("![Speedup over np](charts/scaling.svg)");
    // Shown once, beside its table, not again among the other charts.
    expect(report.split("charts/scaling.svg").length - 1).toBe(1);
  });
});
