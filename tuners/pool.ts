// The configurations a tuner may still ask: the feasible ones it has neither asked nor been told
// about. Every strategy shares this bookkeeping so that none ever asks the same configuration
// twice, including ones the study ran on its own (a baseline, trials resumed from a journal).

import { configKey, feasibleConfigs } from "../src/space.js";
import type { Config, Observation, SearchSpace } from "../src/types.js";

export class CandidatePool {
  /** Every feasible configuration, in enumeration order. */
  readonly all: Config[];
  private readonly used = new Set<string>();

  constructor(space: SearchSpace) {
    this.all = feasibleConfigs(space);
  }

  has(config: Config): boolean {
    return !this.used.has(configKey(config));
  }

  /** Marks a configuration as asked or told; it will not be offered again. */
  take(config: Config): void {
    this.used.add(configKey(config));
  }

  remaining(): Config[] {
    return this.all.filter((c) => !this.used.has(configKey(c)));
  }

  get size(): number {
    return this.all.length;
  }

  get exhausted(): boolean {
    return this.all.every((c) => this.used.has(configKey(c)));
  }
}

/**
 * A strategy whose whole order is fixed up front (grid, random): it walks the order and skips
 * configurations the study already ran on its own.
 */
export abstract class FixedOrderTuner {
  protected readonly pool: CandidatePool;
  private order: Config[] = [];
  private next = 0;

  constructor(space: SearchSpace) {
    this.pool = new CandidatePool(space);
  }

  /** Set once by the subclass's constructor, from `pool.all`. */
  protected setOrder(order: Config[]): void {
    this.order = order;
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
