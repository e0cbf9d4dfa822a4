// Progress of a tuning run on a terminal: a bar that fills with the time budget (the run ends
// when the budget does, so elapsed/budget is the honest ETA), the trials done and the best so
// far. Silent when stderr is not a terminal or when --json asked for machine output.

import cliProgress from "cli-progress";
import { formatDuration } from "../format.js";
import type { TrialRecord } from "../types.js";

export interface ProgressOptions {
  budgetMs: number;
  /** Time already spent when the display starts (probe, synthesis). */
  elapsedMs: () => number;
  /** Formats a larger-is-better value in the metric's units, e.g. "41.2 tok/s". */
  formatValue: (value: number) => string;
  enabled: boolean;
}

export class TuneProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly timer: NodeJS.Timeout | null;
  private trials = 0;
  private failed = 0;
  private best = "-";
  private phase = "starting";

  constructor(private readonly opts: ProgressOptions) {
    if (!opts.enabled) {
      this.bar = null;
      this.timer = null;
      return;
    }
    this.bar = new cliProgress.SingleBar(
      {
        format: "tuning [{bar}] {trials} trials{failed} | best {best} | {left} left | {phase}",
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 24,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(1, Math.round(opts.budgetMs / 1000)), 0, this.payload());
    // The time left changes between trials too; redraw once a second.
    this.timer = setInterval(() => this.redraw(), 1000);
    this.timer.unref();
  }

  /** What the run is doing now: "probing", "synthesizing q4_0", "trial 7 (fidelity 0.33)". */
  setPhase(phase: string): void {
    this.phase = phase;
    this.redraw();
  }

  /** Prints lines above the bar (notes, warnings) without tearing it. */
  above(print: () => void): void {
    if (!this.bar) return print();
    process.stderr.write("\r\x1b[2K");
    print();
    this.redraw();
  }

  /** Trials of an earlier session (--resume) count too. */
  resumeFrom(trials: TrialRecord[], best: TrialRecord | null): void {
    this.trials = trials.length;
    this.failed = trials.filter((t) => t.value === null).length;
    if (best?.value != null) this.best = `${this.opts.formatValue(best.value)}${best.fidelity < 1 ? " (short trial)" : ""}`;
    this.redraw();
  }

  trialDone(record: TrialRecord, best: TrialRecord | null): void {
    this.trials++;
    if (record.value === null) this.failed++;
    if (best?.value != null) this.best = `${this.opts.formatValue(best.value)}${best.fidelity < 1 ? " (short trial)" : ""}`;
    this.redraw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.bar) {
      this.redraw();
      this.bar.stop();
    }
  }

  private payload() {
    const left = Math.max(0, this.opts.budgetMs - this.opts.elapsedMs());
    return {
      trials: this.trials,
      failed: this.failed > 0 ? ` (${this.failed} failed)` : "",
      best: this.best,
      left: formatDuration(left),
      phase: this.phase,
    };
  }

  private redraw(): void {
    if (!this.bar) return;
    const elapsed = Math.min(this.opts.budgetMs, this.opts.elapsedMs());
    this.bar.update(Math.round(elapsed / 1000), this.payload());
  }
}
