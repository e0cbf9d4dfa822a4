// Test support (not part of the build): the TuneResult of a command tuning built from given
// full-fidelity measurements, through the same buildResult a real run uses.
import { buildResult } from "../tune/result.js";
import type { Config, HardwareProfile, TrialRecord, TuneResult, WorkloadDescription } from "../types.js";

const hardware = {
  fingerprint: "test",
  cpu: { model: "test cpu", vendor: "x", physical: 2, logical: 2, sockets: 1, numaNodes: [], isa: [] },
  limits: { cpus: 2, cpuSource: "test" },
  memory: { totalBytes: 1e9, availableBytes: 1e9 },
  gpus: [],
  warnings: [],
} as unknown as HardwareProfile;

function trial(id: number, config: Config, value: number, direction: "maximize" | "minimize"): TrialRecord {
  const metric = direction === "maximize" ? "value" : "wallMs";
  return {
    id,
    config,
    fidelity: 1,
    value: direction === "maximize" ? value : -value,
    measurement: { status: "ok", metrics: { [metric]: value }, primary: metric, samples: [value, value], warmup: 0, rme: 0.01, durationMs: 10, fidelity: { level: 1 } },
    startedAt: "2026-01-01T00:00:00.000Z",
    elapsedMs: id * 1000,
  } as TrialRecord;
}

/** `values`: [configuration, metric] pairs; the first configuration is the baseline. */
export function commandResult(
  command: string,
  env: Record<string, string> | undefined,
  values: [Config, number][],
  direction: "maximize" | "minimize" = "maximize",
): TuneResult {
  const workload: WorkloadDescription = {
    kind: "command",
    objective: { metric: direction === "maximize" ? "value" : "wallMs", direction },
    command,
    env,
    metric: direction === "maximize" ? "x: (\\d+)" : "wall",
    settings: { reps: 2 },
  };
  const names = Object.keys(values[0][0]);
  return buildResult({
    tuner: "grid",
    budgetMs: 1000,
    elapsedMs: 1000,
    ended: "exhausted",
    hardware,
    workload,
    params: names.map((name) => ({ name, kind: "ordinal" as const, values: [...new Set(values.map(([c]) => Number(c[name])))].sort((a, b) => a - b) })),
    trials: values.map(([c, v], i) => trial(i + 1, c, v, direction)),
    infeasible: [],
    baseline: values[0][0],
  });
}
