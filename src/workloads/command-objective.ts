// What a command workload optimises, decided from its --metric alone so that a store look-up can
// name the objective without loading the workload (and the process library it runs commands with).
import type { WorkloadDescription } from "../types.js";

/** Wall time is minimised; a number read from the output is maximised unless told otherwise. */
export function commandObjective(metric: string, direction?: "maximize" | "minimize"): WorkloadDescription["objective"] {
  const wall = metric === "wall";
  return { metric: wall ? "wallMs" : "value", direction: direction ?? (wall ? "minimize" : "maximize") };
}
