// Random search without replacement: a seeded shuffle of the feasible configurations. The
// baseline every model-based tuner has to beat, and the reference point of the replay benchmark.

import { createRng, shuffle } from "../src/random.js";
import type { Config, Observation, SearchSpace, Tuner } from "../src/types.js";
import { CandidatePool } from "./pool.js";

export class RandomTuner implements Tuner {
  readonly name = "random";
  private readonly pool: CandidatePool;
  private readonly order: Config[];
  private next = 0;

  constructor(space: SearchSpace, seed = 0) {
    this.pool = new CandidatePool(space);
    this.order = shuffle(createRng(seed), this.pool.all);
  }

  ask(): Config | undefined {
    while (this.next < this.order.length) {
      const config = this.order[this.next++];
      if (this.pool.has(config)) {
        this.pool.take(config);
        return config;
      }
    }
    return undefined;
  }

  tell(observation: Observation): void {
    this.pool.take(observation.config);
  }
}
