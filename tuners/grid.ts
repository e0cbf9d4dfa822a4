// Full grid search, coarse to fine: first every combination of each parameter's extremes and
// midpoint, then the points halfway between those, and so on. Run to the end it is the full grid;
// stopped early by a budget it has still seen the whole range of every parameter, which a
// lexicographic order (threads=1 with every other setting first) would not.

import { UserInputError } from "../src/errors.js";
import { paramValues, spaceSize } from "../src/space.js";
import type { Config, Param, SearchSpace, Tuner } from "../src/types.js";
import { FixedOrderTuner } from "./pool.js";

/** Bisection level of each index of a list of n values: 0 for both ends, 1 for the middle, ... */
export function refinementLevels(n: number): number[] {
  const level = new Array<number>(n).fill(-1);
  if (n === 0) return level;
  level[0] = 0;
  level[n - 1] = 0;
  let intervals: [number, number][] = [[0, n - 1]];
  for (let depth = 1; intervals.length > 0; depth++) {
    const next: [number, number][] = [];
    for (const [lo, hi] of intervals) {
      if (hi - lo < 2) continue;
      const mid = Math.floor((lo + hi) / 2);
      if (level[mid] < 0) level[mid] = depth;
      next.push([lo, mid], [mid, hi]);
    }
    intervals = next;
  }
  return level;
}

function levelOf(p: Param, value: Config[string], cache: Map<string, number[]>): number {
  const values = paramValues(p);
  let levels = cache.get(p.name);
  if (!levels) {
    levels = refinementLevels(values.length);
    cache.set(p.name, levels);
  }
  return levels[values.indexOf(value)] ?? 0;
}

/** The feasible grid in coarse-to-fine order (stable: ties keep enumeration order). */
export function gridOrder(space: SearchSpace, configs: Config[]): Config[] {
  const cache = new Map<string, number[]>();
  const keyed = configs.map((config, index) => {
    const levels = space.params.map((p) => levelOf(p, config[p.name], cache));
    return { config, index, max: Math.max(0, ...levels), sum: levels.reduce((a, b) => a + b, 0) };
  });
  keyed.sort((a, b) => a.max - b.max || a.sum - b.sum || a.index - b.index);
  return keyed.map((k) => k.config);
}

export class GridTuner extends FixedOrderTuner implements Tuner {
  readonly name = "grid";

  constructor(space: SearchSpace) {
    super(space);
    if (this.pool.sampled) {
      throw new UserInputError(
        `grid search would try all ${spaceSize(space).toLocaleString("en-US")} configurations of this space`,
        "use --tuner bayes or random, which sample a space this large, or give fewer values with --param",
      );
    }
    this.setOrder(gridOrder(space, this.pool.all));
  }
}
