// A search space that follows the data. Ranges start where the machine and the model suggest and
// grow while the best configurations measured sit on their upper edge, up to a ceiling the
// constraints (memory, VRAM, llama.cpp's own limits) or the user set. A tuner that keeps finding
// its best on the boundary is being told the answer lies outside it.
//
// The policy is a seam of its own, beside the tuner and the fidelity schedule: the study asks it
// after every trial whether the space should change, and when it does, starts a fresh tuner on the
// grown space and tells it everything measured so far.

import { infeasibility } from "../space.js";
import { leadingTrials } from "../trials.js";
import type { Config, Param, SearchSpace, TrialRecord } from "../types.js";

export interface GrowableRange {
  /** A log-scaled "int" parameter of the space (sequences, workers, ...). */
  param: string;
  /** The largest value the range may reach, and why it stops there. */
  ceiling: number;
  ceilingWhy: string;
  /** Each growth multiplies the upper edge by this (default 4: two powers of two). */
  factor?: number;
}

export interface GrowthEvent {
  param: string;
  from: number;
  to: number;
  /** Trials measured when it grew. */
  afterTrials: number;
  why: string;
}

/** Where a range ended the run, and why it did not grow further. */
export interface RangeEnd {
  param: string;
  max: number;
  why: string;
}

export interface SpaceGrowthPolicy {
  /** A grown space when a leading configuration sits on a growable edge, else null. */
  grow(space: SearchSpace, trials: TrialRecord[]): { space: SearchSpace; events: GrowthEvent[] } | null;
  /** For the report: each growable range's final edge and why it stopped there. */
  ends(space: SearchSpace, trials: TrialRecord[]): RangeEnd[];
}

/** How many of the best configurations are looked at for an edge. */
const LEADERS = 3;

/** The best configurations measured, each at the highest fidelity it reached. */
export function leaders(trials: TrialRecord[], count = LEADERS): TrialRecord[] {
  const ranked = leadingTrials(trials);
  // Short trials rank among themselves only: a full trial is not comparable with a hint.
  return ranked.filter((t) => t.fidelity === ranked[0].fidelity).slice(0, count);
}

function upper(p: Param | undefined): number | null {
  return p && p.kind === "int" ? p.max : null;
}

export class EdgeGrowth implements SpaceGrowthPolicy {
  constructor(private readonly ranges: GrowableRange[]) {}

  grow(space: SearchSpace, trials: TrialRecord[]): { space: SearchSpace; events: GrowthEvent[] } | null {
    const top = leaders(trials);
    const events: GrowthEvent[] = [];
    const params = space.params.map((p) => ({ ...p }) as Param);
    for (const range of this.ranges) {
      const i = params.findIndex((p) => p.name === range.param);
      const max = upper(params[i]);
      if (max === null || max >= range.ceiling) continue;
      const onEdge = top.filter((t) => Number(t.config[range.param]) >= max);
      if (onEdge.length === 0) continue;
      const to = Math.min(range.ceiling, max * (range.factor ?? 4));
      // Grow only into values a configuration of the leader's shape could run: beyond that the
      // constraints would rule every new value out.
      const probe: Config = { ...onEdge[0].config, [range.param]: to };
      const reachable = infeasibility(space, probe) === null ? to : largestFeasible(space, onEdge[0].config, range.param, max, to);
      if (reachable <= max) continue;
      params[i] = { ...(params[i] as Extract<Param, { kind: "int" }>), max: reachable };
      const rank = top.indexOf(onEdge[0]) + 1;
      events.push({
        param: range.param,
        from: max,
        to: reachable,
        afterTrials: trials.length,
        why: `the ${ordinal(rank)} best configuration measured has ${range.param}=${onEdge[0].config[range.param]}, the range's upper edge`,
      });
    }
    return events.length > 0 ? { space: { ...space, params }, events } : null;
  }

  ends(space: SearchSpace, trials: TrialRecord[]): RangeEnd[] {
    const top = leaders(trials);
    return this.ranges.flatMap((range) => {
      const max = upper(space.params.find((p) => p.name === range.param));
      if (max === null) return [];
      const onEdge = top.some((t) => Number(t.config[range.param]) >= max);
      const why =
        max >= range.ceiling
          ? range.ceilingWhy
          : onEdge
            ? "the next values are infeasible for the leading configurations (see the constraints)"
            : "the best configurations lie inside the range";
      return [{ param: range.param, max, why }];
    });
  }
}

/** The largest power-of-two step between `from` and `to` at which `base` stays feasible. */
function largestFeasible(space: SearchSpace, base: Config, param: string, from: number, to: number): number {
  let best = from;
  for (let v = from * 2; v <= to; v *= 2) {
    if (infeasibility(space, { ...base, [param]: v }) !== null) break;
    best = v;
  }
  return best;
}

function ordinal(n: number): string {
  return n === 1 ? "first" : n === 2 ? "second" : n === 3 ? "third" : `${n}th`;
}
