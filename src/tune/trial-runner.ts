// One trial of the study: run the workload under the budget's limits, turn a cut into a result
// (or into nothing, when the cut says nothing about the configuration), and record what was
// measured: the trial list, the cost model, the journal, then the tuner.

import type { Config, Fidelity, Measurement, Observation, Prediction, TrialRecord, Tuner, Workload } from "../types.js";
import { type Budget, type TrialCostModel, TrialLimitReached } from "./budget.js";
import type { Journal } from "./journal.js";
import { describeConfig } from "../format.js";
import { trialKey } from "./fidelity-schedule.js";

const SHORT_CAP_WORDS = "a tenth of the tuning time, or 20 s";

/** Longest a short trial may run: a tenth of the study, at least 20 s, at most a third. */
export function shortTrialCapMs(studyMs: number): number {
  return Math.min(studyMs / 3, Math.max(20_000, studyMs / 10));
}

/** Objective as the tuner sees it: larger is better, null when the trial gave no number. */
export function objectiveValue(workload: Workload, m: Measurement): number | null {
  if (m.status !== "ok") return null;
  const { metric, direction } = workload.objective;
  let v = m.metrics[metric];
  if (v === undefined && m.primary === metric && m.samples.length > 0) v = m.samples.reduce((a, b) => a + b, 0) / m.samples.length;
  if (v === undefined || !Number.isFinite(v)) return null;
  return direction === "minimize" ? -v : v;
}

export function toObservation(t: TrialRecord): Observation {
  return { config: t.config, status: t.measurement.status, value: t.value, fidelity: t.fidelity };
}

/** What a trial needs of its study. */
export interface TrialContext {
  workload: Workload;
  budget: Budget;
  cost: TrialCostModel;
  /** Every trial so far, in order; a recorded trial is appended. */
  trials: TrialRecord[];
  /** Every measured trial, by trialKey. */
  done: Map<string, TrialRecord>;
  /** The tuner of the moment (a grown space brings a fresh one). */
  tuner: () => Tuner;
  journal?: Journal;
  signal?: AbortSignal;
  reserveMs: number;
  /** Milliseconds of earlier sessions (resume), so that elapsedMs keeps counting up. */
  elapsedOffsetMs: number;
  slowTrialFactor: number;
  minTrialLimitMs: number;
  /** Longest a short trial may run (shortTrialCapMs of the study's time). */
  shortCapMs: number;
  work: (config: Config) => number;
  predict?: (config: Config) => Prediction | null;
  onNote?: (note: string) => void;
  onTrialStart?: (config: Config, fidelity: number) => void;
  /** Called after every recorded trial, once the tuner was told. */
  onRecorded: (record: TrialRecord) => void;
}

/**
 * "stopped" when the deadline or Ctrl-C cut the trial (the study ends); "dropped" when a
 * budget-relative cap cut it (nothing journaled, the study goes on).
 */
export type TrialEnd = "done" | "stopped" | "dropped";

export class TrialRunner {
  private nextId: number;

  constructor(private readonly ctx: TrialContext) {
    this.nextId = ctx.trials.reduce((m, t) => Math.max(m, t.id + 1), 0);
  }

  /** Runs one trial; `capMs` replaces the slowness limits (a trial that may take half the time left). */
  async run(config: Config, fidelity: number, capMs?: number, phase?: "race"): Promise<TrialEnd> {
    const { ctx } = this;
    const prediction = ctx.predict?.(config) ?? undefined;
    ctx.onTrialStart?.(config, fidelity);
    const startedAt = new Date().toISOString();
    const estimate = ctx.cost.estimateFor(fidelity, ctx.work(config));
    const slowLimit = estimate === null ? Number.POSITIVE_INFINITY : Math.max(ctx.minTrialLimitMs, ctx.slowTrialFactor * estimate);
    // A short trial is meant to cost seconds; one that needs a tenth of the study's time (the
    // first trials have no peers to compare with, and a trial's work grows with workers x
    // sequences) is a configuration this machine cannot run well. Fixed at the start: near the
    // end the deadline cuts trials, and that says nothing about the configuration, so it must not
    // be recorded as one too slow.
    const shortCap = fidelity < 1 ? ctx.shortCapMs : Number.POSITIVE_INFINITY;
    const limitMs = capMs ?? Math.min(slowLimit, shortCap);
    const why = capMs !== undefined ? "more than half the time left" : shortCap < slowLimit ? `${SHORT_CAP_WORDS} for one short trial` : undefined;
    const { signal, dispose } = ctx.budget.trialSignal(ctx.signal, ctx.reserveMs, limitMs, why);
    // Extra repetitions for a full trial's margin can double it. In a short study that doubling is
    // a large share of the time, enough to crowd out the next configuration, so a trial may take
    // them only where doubled it stays within the short-trial cap (a tenth of the study, at least
    // 20 s). The race's trials never do: the race repeats them itself.
    const extendReps = phase !== "race" && estimate !== null && 2 * estimate <= ctx.shortCapMs;
    const level: Fidelity = extendReps ? { level: fidelity } : { level: fidelity, extendReps: false };
    let measurement = await this.measure(config, level, signal, dispose);
    if (signal.aborted && measurement.status !== "ok") {
      // Cut for slowness: that is a result (the tuner should stay away). Cut by the deadline or
      // Ctrl-C: nothing was learnt about the configuration.
      if (!(signal.reason instanceof TrialLimitReached)) return "stopped";
      if (capMs !== undefined) return "dropped";
      if (shortCap < slowLimit) {
        // Too slow for this budget, which says as much about the budget as about the
        // configuration: the tuner keeps away from it now, but it is not journaled, so a resume
        // with a longer budget tries it again.
        ctx.tuner().tell({ config, status: "timeout", value: null, fidelity });
        ctx.onNote?.(`${describeConfig(config)}: short trial cut after ${(limitMs / 1000).toFixed(1)} s (${SHORT_CAP_WORDS}); not recorded, a longer budget retries it`);
        return "dropped";
      }
      measurement = { ...measurement, status: "timeout", error: signal.reason.message };
    }
    this.record({
      id: this.nextId++,
      config,
      fidelity,
      measurement,
      value: objectiveValue(ctx.workload, measurement),
      ...(prediction ? { prediction } : {}),
      ...(phase ? { phase } : {}),
      startedAt,
      elapsedMs: Math.round(ctx.elapsedOffsetMs + ctx.budget.elapsedMs()),
    });
    return "done";
  }

  private async measure(config: Config, fidelity: Fidelity, signal: AbortSignal, dispose: () => void): Promise<Measurement> {
    const { workload } = this.ctx;
    const t0 = performance.now();
    try {
      return await workload.run(config, fidelity, signal);
    } catch (err) {
      // Workloads report failure as a Measurement; an exception is a bug in one, and one bad
      // trial must not lose the whole run.
      return {
        status: "failed",
        metrics: {},
        primary: workload.objective.metric,
        samples: [],
        warmup: 0,
        rme: Number.POSITIVE_INFINITY,
        error: err instanceof Error ? err.message : String(err),
        durationMs: performance.now() - t0,
        fidelity,
      };
    } finally {
      dispose();
    }
  }

  private record(record: TrialRecord): void {
    const { ctx } = this;
    ctx.trials.push(record);
    ctx.done.set(trialKey(record.config, record.fidelity), record);
    ctx.cost.record(record.fidelity, record.measurement.durationMs, ctx.work(record.config));
    ctx.journal?.append(record);
    ctx.tuner().tell(toObservation(record));
    ctx.onRecorded(record);
  }
}
