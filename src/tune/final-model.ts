// The performance model as it stands at the end of a run: calibrated on all of its trials. The
// result's predicted values and predicted speedups all come from it, both sides of every ratio
// from this one state; `tune` builds it when the run ends and `report` builds the same one again
// from the journal, so the two print the same predictions.

import { createPerformanceModel } from "../../models/index.js";
import { scalingDimensions } from "../workloads/command-variables.js";
import type { Config, HardwareProfile, Param, Prediction, TrialRecord, WorkloadDescription } from "../types.js";

export interface FinalModelInput {
  hardware: HardwareProfile;
  workload: WorkloadDescription;
  params: Param[];
  trials: TrialRecord[];
}

/**
 * The prediction function of the final model, or undefined when the objective has none: the
 * models predict a maximised metric (decode tok/s, a command's throughput), not a latency.
 */
export function finalPredictor(input: FinalModelInput): ((config: Config) => Prediction | null) | undefined {
  const { workload, hardware } = input;
  if (workload.objective.direction !== "maximize") return undefined;
  const space = { params: input.params, constraints: [] };
  const llama = workload.kind === "llama" && workload.models?.length;
  const prompt = Number(workload.settings.promptTokens);
  const gen = Number(workload.settings.genTokens);
  const model = llama
    ? createPerformanceModel({ hardware, models: workload.models, space, contextTokens: prompt + gen / 2 })
    : createPerformanceModel({ hardware, space, parallelParams: scalingDimensions(input.params, workload.command, workload.env) });
  try {
    model.fit(input.trials.map((t) => ({ config: t.config, status: t.measurement.status, value: t.value, fidelity: t.fidelity })));
  } catch {
    // A fit that fails leaves the model as it was (the prior, or nothing): the report's
    // predictions are an aid, never a reason to fail.
  }
  return (config) => {
    try {
      const p = model.predict(config);
      return Number.isFinite(p.mean) && p.mean > 0 ? p : null;
    } catch {
      return null;
    }
  };
}
