// The objective a study optimises when it is not the workload's own: `--objective latency` tunes
// the llama workload for the latency of a request instead of aggregate decode throughput. The
// trials are the same; only the number the tuner is told changes.

import { cumulativeStdNormalProbability } from "simple-statistics";
import type { Config, Measurement, Prediction, Workload } from "../types.js";

/** Name of the metric the latency objective adds to each measurement. */
export const REQUEST_LATENCY = "requestLatencyMs";

/**
 * The objective of `--objective throughput|latency`, as tune() optimises it and as the store
 * keys its result: recommend() must ask with the same one to find a past tuning.
 */
export function llamaObjective(kind: "throughput" | "latency" | undefined): { metric: string; direction: "maximize" | "minimize" } {
  return kind === "latency" ? { metric: REQUEST_LATENCY, direction: "minimize" } : { metric: "decodeTps", direction: "maximize" };
}

/**
 * Median latency of a full-length request (prompt, then `genTokens` tokens). A short trial
 * generates fewer tokens, so its raw request latency would look better than a full trial's for
 * no reason; its decode part is scaled to the full length instead:
 *   ttft + (latency - ttft) x (genTokens - 1) / (generated - 1)
 * At full fidelity this is exactly the measured median request latency.
 */
export function withRequestLatency(workload: Workload, genTokens: number, generatedAt: (level: number) => number): Workload {
  return {
    name: workload.name,
    objective: llamaObjective("latency"),
    async run(config, fidelity, signal) {
      const m = await workload.run(config, fidelity, signal);
      return addRequestLatency(m, genTokens, generatedAt(fidelity.level));
    },
    close: workload.close ? () => workload.close!() : undefined,
  };
}

export function addRequestLatency(m: Measurement, genTokens: number, generated: number): Measurement {
  const { ttftP50Ms: ttft, latencyP50Ms: latency } = m.metrics;
  if (m.status !== "ok" || ttft === undefined || latency === undefined) return m;
  const scale = generated > 1 ? (genTokens - 1) / (generated - 1) : 1;
  return { ...m, metrics: { ...m.metrics, [REQUEST_LATENCY]: ttft + (latency - ttft) * scale } };
}

/** The latency metric `--max-latency` bounds: 95th percentile time per output token of a sequence. */
export const LATENCY_LIMIT_METRIC = "tpotP95Ms";

/**
 * Throughput under a latency limit (serving): a trial whose sequences waited longer than
 * `limitMs` per output token (95th percentile) is no answer, whatever its throughput. It keeps its
 * metrics, for the throughput/latency chart, but counts as infeasible, so the tuner learns where
 * the limit lies as it learns any other constraint. Time per output token rather than request
 * latency: it does not depend on how long the trial's requests happen to be.
 */
export function withLatencyLimit(workload: Workload, limitMs: number): Workload {
  return {
    name: workload.name,
    objective: workload.objective,
    async run(config, fidelity, signal) {
      const m = await workload.run(config, fidelity, signal);
      const tpot = m.metrics[LATENCY_LIMIT_METRIC];
      if (m.status !== "ok" || tpot === undefined || tpot <= limitMs) return m;
      return { ...m, status: "infeasible", error: `time per output token p95 ${tpot.toFixed(1)} ms is over --max-latency ${limitMs} ms` };
    },
    close: workload.close ? () => workload.close!() : undefined,
  };
}

/**
 * What a throughput prediction is worth under `--max-latency`: the predicted decode tok/s times
 * the chance that the configuration keeps the limit. Each worker decodes its sequences in
 * lockstep, so a sequence waits one step per token, and a step of W workers x S sequences at a
 * total of R tok/s lasts S x W / R seconds: the limit holds when R >= S x W / limit. The
 * prediction's spread (log-normal) gives the chance. Without this the tuner's first questions go
 * to the fastest configurations, which under a limit are the ones most likely over it.
 */
export function withinLatencyLimit(p: Prediction, config: Config, limitMs: number): number {
  const neededTps = (Number(config.workers ?? 1) * Number(config.sequences ?? 1) * 1000) / limitMs;
  if (!(p.mean > 0)) return 0;
  // At least 5%: a prediction that claims no spread still grades the configurations near the limit.
  const sigma = Math.max(0.05, p.std / p.mean);
  const chance = 1 - cumulativeStdNormalProbability((Math.log(neededTps) - Math.log(p.mean)) / sigma);
  return p.mean * chance;
}
