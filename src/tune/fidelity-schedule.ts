// The fidelity schedule: asynchronous successive halving, kept beside the study loop the way
// Optuna keeps its pruners beside its study. It says which configuration should be measured
// again at the next fidelity rung, and whether that promotion still fits in the time left; the
// study runs the trials.

import { configKey } from "../space.js";
import type { Config, TrialRecord } from "../types.js";
import { highestFidelityOf } from "../trials.js";
import type { Budget, TrialCostModel } from "./budget.js";

export const DEFAULT_RUNGS = [1 / 9, 1 / 3, 1];
export const DEFAULT_ETA = 3;

export function trialKey(config: Config, fidelity: number): string {
  return `${configKey(config)}@${fidelity}`;
}

export interface Promotion {
  config: Config;
  fidelity: number;
}

/** What the schedule reads of the study to judge a promotion. */
export interface ScheduleView {
  trials: TrialRecord[];
  /** Every measured trial, by trialKey. */
  done: Map<string, TrialRecord>;
  budget: Budget;
  cost: TrialCostModel;
  /** Milliseconds of study time, fixed at its start. */
  studyMs: number;
  /** Milliseconds left for trials now (the deadline less what is kept back). */
  timeLeftMs: () => number;
}

export class FidelitySchedule {
  /** Fidelity rungs, ascending, ending at 1. */
  readonly rungs: number[];
  /** Reduction factor: the top 1/eta of a rung moves up. */
  readonly eta: number;
  /** Promotions that did not fit in the time left, or were cut for it; not offered again. */
  private readonly unaffordable = new Set<string>();

  constructor(rungs: number[] = DEFAULT_RUNGS, eta: number = DEFAULT_ETA) {
    this.rungs = normaliseRungs(rungs);
    this.eta = eta;
  }

  /** The rung new configurations start at. */
  get lowest(): number {
    return this.rungs[0];
  }

  /** A promotion is not offered again: it did not fit, or a budget-relative cap cut it. */
  drop(promotion: Promotion): void {
    this.unaffordable.add(trialKey(promotion.config, promotion.fidelity));
  }

  /**
   * Asynchronous successive halving: a configuration in the top 1/eta of its rung moves to the
   * next rung; higher rungs are served first so that good configurations reach full fidelity
   * early. With few trials in a short budget 1/eta of a rung rounds to nobody, so when the time
   * left only fits a few more trials at the next rung, that rung's leader is promoted anyway:
   * better one full measurement of the best candidate than none. Once the tuner has nothing left
   * to ask, every configuration may move up, best first, while the budget lasts.
   */
  next(view: ScheduleView, tunerDone: boolean): Promotion | null {
    const { rungs, eta } = this;
    const { trials } = view;
    for (let k = rungs.length - 2; k >= 0; k--) {
      const here = trials
        .filter((t) => t.fidelity === rungs[k] && t.value !== null)
        .sort((a, b) => b.value! - a.value!);
      if (here.length === 0) continue;
      const next = rungs[k + 1];
      const estimate = view.cost.estimate(next);
      const endgame = estimate !== null && view.budget.remainingMs() < 3 * estimate;
      // With nothing new left to try, the rest of the budget confirms configurations at higher
      // fidelity, best first.
      const quota = tunerDone ? here.length : endgame ? Math.max(1, Math.floor(here.length / eta)) : Math.floor(here.length / eta);
      for (const t of here.slice(0, quota)) {
        const key = trialKey(t.config, next);
        if (!view.done.has(key) && !this.unaffordable.has(key)) return { config: t.config, fidelity: next };
      }
    }
    return null;
  }

  /**
   * Whether a promotion is expected to end in the time left: the typical trial at its fidelity,
   * and its own expected duration (its trial one rung down, scaled by the fidelity ratio), which
   * must also fit in a quarter of the study (at least 20 s, so that a short budget's ordinary
   * trials pass): the cost model's typical trial says nothing about a configuration whose short
   * trial alone took minutes.
   */
  fits(promotion: Promotion, view: ScheduleView): boolean {
    if (!affordable(promotion.fidelity, view)) return false;
    const below = highestFidelityOf(view.trials, promotion.config)[0];
    if (!below || below.fidelity >= promotion.fidelity) return true;
    const expected = below.measurement.durationMs * (promotion.fidelity / below.fidelity);
    return expected <= Math.min(Math.max(MIN_PROMOTION_CAP_MS, view.studyMs / 4), view.timeLeftMs());
  }
}

/** The smallest cap on a promotion's own expected duration (see `fits`). */
const MIN_PROMOTION_CAP_MS = 20_000;

/** Whether a trial at this fidelity is expected to end before the deadline. */
// Not scaled by the configuration's work: trial time grows far less than linearly with
// sequences (they decode in one batch), and the deadline still cuts a trial that overruns.
export function affordable(fidelity: number, view: Pick<ScheduleView, "cost" | "timeLeftMs">): boolean {
  const estimate = view.cost.estimate(fidelity);
  return estimate === null || estimate <= view.timeLeftMs();
}

function normaliseRungs(rungs: number[]): number[] {
  const r = [...new Set(rungs.filter((f) => f > 0 && f <= 1))].sort((a, b) => a - b);
  if (r[r.length - 1] !== 1) r.push(1);
  return r;
}
