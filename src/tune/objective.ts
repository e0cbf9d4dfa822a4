// The objective a study optimises, when it is not the workload's own: `--objective latency` tunes
// the llama workload for request latency instead of aggregate decode throughput. The trials are
// the same; only which metric the tuner is told, and in which direction, changes.

import type { Workload } from "../types.js";

export function withObjective(workload: Workload, objective: Workload["objective"]): Workload {
  return {
    name: workload.name,
    objective,
    run: (config, fidelity, signal) => workload.run(config, fidelity, signal),
    close: workload.close ? () => workload.close!() : undefined,
  };
}
