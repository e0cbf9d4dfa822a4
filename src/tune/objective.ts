// The objective a study optimises when it is not the workload's own: `--objective latency` tunes
// the llama workload for the latency of a request instead of aggregate decode throughput. The
// trials are the same; only the number the tuner is told changes.

import type { Measurement, Workload } from "../types.js";

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
