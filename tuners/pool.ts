// The configurations a tuner may still ask: the feasible ones it has neither asked nor been told
// about. Every strategy shares this bookkeeping so that none ever asks the same configuration
// twice, including ones the study ran on its own (a baseline, trials resumed from a journal).

import { configKey, ENUMERATION_LIMIT, feasibleConfigs, sampleConfigs, spaceSize } from "../src/space.js";
import { createRng } from "../src/random.js";
import type { Config, Observation, SearchSpace } from "../src/types.js";

/** Candidates drawn at a time from a space too large to list. */
const SAMPLE_SIZE = 2048;

export class CandidatePool {
  /**
   * Every feasible configuration, in enumeration order; for a space too large to list, a random
   * sample of it (plus whatever was taken from outside the sample), grown as it is used up.
   */
  readonly all: Config[];
  /** True when `all` is a sample of a space too large to list. */
  readonly sampled: boolean;
  private readonly used = new Set<string>();
  private readonly known = new Set<string>();
  private readonly rng: () => number;
  private dry = false;

  constructor(private readonly space: SearchSpace, seed = 0) {
    this.rng = createRng(seed ^ 0x5eed);
    this.sampled = spaceSize(space) > ENUMERATION_LIMIT;
    this.all = this.sampled ? sampleConfigs(space, this.rng, SAMPLE_SIZE) : feasibleConfigs(space);
    for (const c of this.all) this.known.add(configKey(c));
  }

  has(config: Config): boolean {
    return !this.used.has(configKey(config));
  }

  /** Marks a configuration as asked or told; it will not be offered again. */
  take(config: Config): void {
    const key = configKey(config);
    this.used.add(key);
    if (this.sampled && !this.known.has(key)) {
      this.known.add(key);
      this.all.push(config);
    }
  }

  remaining(): Config[] {
    const left = this.all.filter((c) => !this.used.has(configKey(c)));
    if (!this.sampled || left.length >= SAMPLE_SIZE / 4) return left;
    return [...left, ...this.grow()];
  }

  /** Draws more candidates from a sampled space; none once draws stop finding new ones. */
  grow(): Config[] {
    if (!this.sampled || this.dry) return [];
    const fresh = sampleConfigs(this.space, this.rng, SAMPLE_SIZE, (c) => this.known.has(configKey(c)));
    if (fresh.length === 0) this.dry = true;
    for (const c of fresh) {
      this.known.add(configKey(c));
      this.all.push(c);
    }
    return fresh;
  }

  get size(): number {
    return this.all.length;
  }

  get exhausted(): boolean {
    return this.all.every((c) => this.used.has(configKey(c))) && this.grow().length === 0;
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

  constructor(space: SearchSpace, seed = 0) {
    this.pool = new CandidatePool(space, seed);
  }

  /** Set once by the subclass's constructor, from `pool.all`. */
  protected setOrder(order: Config[]): void {
    this.order = order;
  }

  ask(): Config | undefined {
    // A sampled space hands out a fresh sample once the first is walked.
    if (this.next >= this.order.length) this.order.push(...this.pool.grow());
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
