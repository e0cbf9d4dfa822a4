// The wall-clock budget of a tuning run. It starts when tune() is called, so probing, model
// synthesis and loading are paid from it like the trials are: the user asked for "ten minutes",
// not "ten minutes of trials".

import { SimpleLinearRegression } from "ml-regression";
import { percentile } from "../statistics.js";

/** Milliseconds from a monotonic clock; injectable so that tests need not sleep. */
export type Clock = () => number;

export const monotonic: Clock = () => performance.now();

export class Budget {
  readonly startedAt: number;
  readonly deadline: number;

  constructor(readonly budgetMs: number, private readonly clock: Clock = monotonic, startedAt?: number) {
    this.startedAt = startedAt ?? clock();
    this.deadline = this.startedAt + budgetMs;
  }

  elapsedMs(): number {
    return this.clock() - this.startedAt;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - this.clock());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /**
   * A signal for one trial: it aborts at the deadline, or when `parent` (Ctrl-C) aborts. The
   * workload kills its processes on abort, so the run ends on time even inside a slow trial.
   * `reserveMs` is kept back from the deadline for writing the results after the trial.
   */
  trialSignal(parent?: AbortSignal, reserveMs = 0, limitMs = Number.POSITIVE_INFINITY, limitWhy?: string): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const onParent = () => controller.abort(parent?.reason ?? new Error("interrupted"));
    if (parent?.aborted) onParent();
    else parent?.addEventListener("abort", onParent, { once: true });
    const left = Math.max(0, this.remainingMs() - reserveMs);
    const timers = [setTimeout(() => controller.abort(new DeadlineReached()), left)];
    if (limitMs < left) timers.push(setTimeout(() => controller.abort(new TrialLimitReached(limitMs, limitWhy)), limitMs));
    // The timers must not keep a finished program alive.
    for (const t of timers) t.unref?.();
    return {
      signal: controller.signal,
      dispose() {
        for (const t of timers) clearTimeout(t);
        parent?.removeEventListener("abort", onParent);
      },
    };
  }
}

/** The abort reason when the budget, not the user, stopped a trial. */
export class DeadlineReached extends Error {
  override readonly name = "DeadlineReached";
  constructor() {
    super("the time budget ran out");
  }
}

/** The abort reason when a trial ran so much longer than its peers that it cannot be a good one. */
export class TrialLimitReached extends Error {
  override readonly name = "TrialLimitReached";
  constructor(readonly limitMs: number, why = "far longer than the trials before it") {
    super(`cut after ${(limitMs / 1000).toFixed(1)} s, ${why}`);
  }
}

/**
 * Estimates how long a trial at a fidelity will take, from the trials already run. A trial that
 * the estimate says cannot finish before the deadline is not started: a half-run trial measures
 * nothing and only steals time from writing the results.
 */
export class TrialCostModel {
  private readonly byFidelity = new Map<number, number[]>();
  private readonly works: number[] = [];

  /**
   * `work` is how much a configuration does per trial relative to others (for the llama workload
   * workers x sequences: each sequence is prompted and generates its tokens), so that a trial of
   * eight sequences is not judged by the duration of one-sequence trials.
   */
  record(fidelity: number, durationMs: number, work = 1): void {
    if (!Number.isFinite(durationMs) || durationMs <= 0) return;
    const list = this.byFidelity.get(fidelity) ?? [];
    list.push(durationMs);
    this.byFidelity.set(fidelity, list);
    if (work > 0 && Number.isFinite(work)) this.works.push(work);
  }

  /**
   * The estimate for a configuration that does `work`: scaled up in proportion when it does more
   * than the typical trial so far (proportional overestimates, since model loading does not
   * grow with the work, which is the safe side both for cutting slow trials and for the deadline),
   * never scaled down.
   */
  estimateFor(fidelity: number, work: number): number | null {
    const base = this.estimate(fidelity);
    if (base === null || this.works.length === 0) return base;
    return base * Math.max(1, work / percentile(this.works, 0.5));
  }

  /**
   * Expected duration in ms, or null with no history at all (the first trial is always tried; the
   * deadline signal still bounds it). Uses the 75th percentile of past durations at that fidelity:
   * configurations differ in speed, and overrunning costs more than skipping. An unseen fidelity
   * is interpolated on a straight line through the fidelities seen (a trial is a fixed start-up,
   * model loading, plus work that grows with the fidelity); with one fidelity seen it is scaled
   * proportionally, which overestimates and so errs on the side of finishing on time.
   */
  estimate(fidelity: number): number | null {
    const own = this.byFidelity.get(fidelity);
    if (own && own.length > 0) return percentile(own, 0.75);
    const points = [...this.byFidelity.entries()].map(([f, d]) => ({ f, d: percentile(d, 0.75) }));
    if (points.length === 0) return null;
    if (points.length === 1) {
      const { f, d } = points[0];
      return fidelity > f ? d * (fidelity / f) : d;
    }
    const line = new SimpleLinearRegression(points.map((p) => p.f), points.map((p) => p.d)).predict(fidelity);
    // Never below the cheapest trial seen: start-up alone costs that much.
    return Math.max(line, Math.min(...points.map((p) => p.d)));
  }
}
