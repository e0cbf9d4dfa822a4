// Initial designs: before a surrogate has anything to learn from, spread the first trials so that
// each one says as much as possible about the rest of the space. Greedy maximin over the finite
// candidate set: each next point is the one farthest from everything chosen so far.

import { encodeConfig } from "../src/space.js";
import type { Config, SearchSpace } from "../src/types.js";

/**
 * Encodes for distances: numeric parameters in [0, 1] (log scale as src/space.ts decides), and a
 * categorical one-hot scaled by 1/√2 so that two different categories are at distance 1, as far
 * apart as the two ends of a numeric range.
 */
export function designPoint(space: SearchSpace, config: Config): number[] {
  const raw = encodeConfig(space, config);
  const out: number[] = [];
  let i = 0;
  for (const p of space.params) {
    if (p.kind === "categorical") {
      for (let j = 0; j < p.values.length; j++) out.push(raw[i++] / Math.SQRT2);
    } else {
      out.push(raw[i++]);
    }
  }
  return out;
}

function distance2(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/**
 * Picks `count` candidates by greedy maximin, given points already chosen (`chosen`, possibly
 * empty). With nothing chosen the first pick is `candidates[first]`. Ties keep candidate order, so
 * callers that want variety shuffle the candidates with a seeded RNG first.
 */
export function maximinDesign(
  space: SearchSpace,
  candidates: Config[],
  count: number,
  chosen: Config[] = [],
  first = 0,
): Config[] {
  const points = candidates.map((c) => designPoint(space, c));
  const minDist = points.map(() => Infinity);
  const taken = new Set<number>();
  const picks: Config[] = [];
  const absorb = (p: number[]) => points.forEach((q, i) => (minDist[i] = Math.min(minDist[i], distance2(p, q))));
  for (const c of chosen) absorb(designPoint(space, c));
  while (picks.length < Math.min(count, candidates.length)) {
    let best = -1;
    if (chosen.length === 0 && picks.length === 0) {
      best = Math.min(Math.max(0, first), candidates.length - 1);
    } else {
      for (let i = 0; i < points.length; i++) if (!taken.has(i) && (best < 0 || minDist[i] > minDist[best])) best = i;
    }
    taken.add(best);
    picks.push(candidates[best]);
    absorb(points[best]);
  }
  return picks;
}
