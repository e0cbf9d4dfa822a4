// Random search without replacement: a seeded shuffle of the feasible configurations. The
// baseline every model-based tuner has to beat, and the reference point of the replay benchmark.

import { createRng, shuffle } from "../src/random.js";
import type { SearchSpace, Tuner } from "../src/types.js";
import { FixedOrderTuner } from "./pool.js";

export class RandomTuner extends FixedOrderTuner implements Tuner {
  readonly name = "random";

  constructor(space: SearchSpace, seed = 0) {
    super(space, seed);
    this.setOrder(shuffle(createRng(seed), this.pool.all));
  }
}
