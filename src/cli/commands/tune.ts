// `paratune tune`: measure configurations within a time budget and recommend the fastest.
import type { Command } from "commander";
import { failureLine, UserInputError } from "../../errors.js";
import { configKey } from "../../space.js";
import type { RankedConfig, TuneResult } from "../../types.js";
import { DEFAULT_SHAPE } from "../../tune/index.js";
import { parseDuration } from "../../duration.js";
import { tuneRun } from "../../tuning.js";
import { planTuning } from "../../tune/plan.js";
import { describePlan, readProfile } from "../plan-view.js";
import { describeConfig, formatDuration, table } from "../../format.js";
import { printJson } from "../format.js";
import { addWorkloadOptions, listFlag, positiveIntFlag, workloadOptions, type WorkloadFlags } from "../command-flags.js";
import { formatRme, formatSpeedup } from "../../outputs/recommendation.js";

interface TuneFlags extends WorkloadFlags {
  budget: string;
  oversubscribe?: boolean;
  maxSequences?: string;
  batch?: string;
  out?: string;
  resume?: string;
  dryRun?: boolean;
  hardware?: string;
  json?: boolean;
}

export function registerTune(program: Command): void {
  const command = program
    .command("tune")
    .description(
      `Measure parallel configurations within a time budget and recommend the fastest. With no model, tunes a synthetic ${DEFAULT_SHAPE} model.`,
    );
  addWorkloadOptions(command)
    .option("--budget <duration>", "wall-clock budget including probing and model synthesis, e.g. 90s, 10m, 1h", "1m")
    .option("--oversubscribe", "also try workers x threads above the usable cores")
    .option("--max-sequences <n>", "largest number of parallel sequences per worker the space may grow to (default 256, llama.cpp's limit)")
    .option("--batch <list>", "batch sizes to try, comma-separated (default 128,512; one value fixes it)")
    .option("--out <dir>", "output folder (default ./paratune-out/<timestamp>)")
    .option("--resume <dir>", "continue the tuning run in this folder without rerunning its trials")
    .option("--dry-run", "print the search space, constraints and baseline the run would use, and run no trial")
    .option("--hardware <profile.json>", "with --dry-run: plan for the machine of a saved `paratune probe --json` instead of this one")
    .option("--json", "print the result as JSON")
    .action(runTune);
}

async function runTune(flags: TuneFlags): Promise<void> {
  const options = toOptions(flags);
  if (flags.hardware && !flags.dryRun) throw new UserInputError("--hardware plans for another machine; trials can only run on this one", "add --dry-run, or leave --hardware out");
  if (flags.dryRun) {
    const plan = await planTuning({ ...options, hardware: flags.hardware ? readProfile(flags.hardware) : undefined, onNote: (n) => process.stderr.write(`paratune: ${n}\n`) });
    if (flags.json) printJson(plan);
    else process.stdout.write(describePlan(plan));
    return;
  }
  // Ctrl-C or SIGTERM (a service manager, `timeout`, `kill`): the first one ends the run
  // cleanly (the running trial and its processes are ended, the journal and the results are
  // written); a second one quits at once.
  const controller = new AbortController();
  let interrupts = 0;
  let stoppedBy = "SIGINT" as NodeJS.Signals;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) stoppedBy = signal;
    if (interrupts === 1) {
      process.stderr.write(`\nparatune: stopping - writing the results (${signal === "SIGINT" ? "Ctrl-C" : signal} again to quit now)\n`);
      controller.abort(new Error("interrupted"));
    } else {
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const run = await tuneRun({
      ...options,
      signal: controller.signal,
      progress: !flags.json && process.stderr.isTTY === true,
      onNote: (note) => {
        if (!flags.json) process.stderr.write(`paratune: ${note}\n`);
      },
    });
    if (flags.json) printJson({ outDir: run.outDir, files: run.files, result: run.result });
    else process.stdout.write(summary(run.result, run.outDir, run.files));
    // The shell's convention for a program ended by a signal: 128 + its number.
    if (run.result.ended === "interrupted") process.exitCode = stoppedBy === "SIGTERM" ? 143 : 130;
    else if (!run.result.best) {
      // No measured answer: the run's files say why in full; the exit status and one line
      // say it to a script and to a user who does not open them.
      process.stderr.write(`paratune: ${noAnswer(run.result)}\n`);
      process.exitCode = 1;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}


function toOptions(flags: TuneFlags): Parameters<typeof tuneRun>[0] {
  return {
    ...workloadOptions(flags),
    budgetMs: parseDuration(flags.budget, "budget"),
    oversubscribe: flags.oversubscribe,
    maxSequences: positiveIntFlag("--max-sequences", flags.maxSequences),
    batchSizes: listFlag(flags.batch)?.map((b) => positiveIntFlag("--batch", b)),
    outDir: flags.out,
    resume: flags.resume,
  };
}

/** Why a run has no answer, in one line: no trial finished, or the most common reason trials failed. */
export function noAnswer(result: TuneResult): string {
  const failed = result.trials.filter((t) => t.value === null);
  if (failed.length === 0) return "no trial finished within the budget, so there is nothing to recommend; give more time with --budget";
  const byCause = new Map<string, { count: number; line: string }>();
  for (const t of failed) {
    const cause = failureLine(t.measurement.error).split(": ")[0] || t.measurement.status;
    const seen = byCause.get(cause) ?? { count: 0, line: failureLine(t.measurement.error) || t.measurement.status };
    seen.count++;
    byCause.set(cause, seen);
  }
  const [top] = [...byCause.values()].sort((a, b) => b.count - a.count);
  const all = failed.length === result.trials.length ? `all ${failed.length} trials failed` : `no trial succeeded (${failed.length} failed)`;
  return `${all}, so there is nothing to recommend and no .env was written; most often (${top.count} of ${failed.length}): ${top.line}`;
}

function measuredText(r: RankedConfig | null): string {
  if (!r?.measured) return "-";
  const rme = formatRme(r.measured.rme);
  return `${r.measured.mean.toPrecision(4)}${rme ? ` ${rme}` : ""}`;
}

const times = (s: number | null) => formatSpeedup(s);

/** The human summary: how the run ended, the recommendation against the baseline, the files. */
export function summary(result: TuneResult, outDir: string, files: string[]): string {
  const ended = { budget: "the budget ran out", exhausted: "every configuration was tried", interrupted: "interrupted" }[result.ended] ?? result.ended;
  const metric = `${result.workload.objective.metric} (${result.workload.objective.direction === "maximize" ? "higher" : "lower"} is better)`;
  const lines: string[] = [];
  const full = result.trials.filter((t) => t.fidelity >= 1).length;
  const split = full < result.trials.length ? ` (${result.trials.length - full} short, ${full} full)` : "";
  lines.push(`tuned for ${formatDuration(result.elapsedMs)} with ${result.tuner}: ${result.trials.length} trials${split}, ended because ${ended}`);
  lines.push(`objective: ${metric}`);
  lines.push("");
  const rows = [["", "configuration", "measured", "speedup", "predicted speedup"]];
  // One row per configuration: the baseline is often the best or the runner-up on few cores.
  const shown = new Map<string, { labels: string[]; r: RankedConfig }>();
  for (const [label, r] of [["best", result.best], ["runner-up", result.runnerUp], ["baseline", result.baseline]] as const) {
    if (!r) continue;
    const key = configKey(r.config);
    const entry = shown.get(key);
    if (entry) entry.labels.push(label);
    else shown.set(key, { labels: [label], r });
  }
  for (const { labels, r } of shown.values()) {
    rows.push([labels.join(" = "), describeConfig(r.config), measuredText(r), times(r.speedupMeasured), times(r.speedupPredicted)]);
  }
  lines.push(table(rows));
  lines.push("");
  lines.push(`confidence: ${result.confidence.level} - ${result.confidence.reason}`);
  if (result.infeasible.length > 0) {
    const reasons = new Map<string, number>();
    for (const i of result.infeasible) {
      const kind = i.reason.startsWith("needs") ? "not enough memory" : i.reason.includes("usable cores") ? "more threads than usable cores" : i.reason;
      reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
    }
    lines.push(`not run: ${[...reasons].map(([why, n]) => `${n} configurations (${why})`).join(", ")}; see the report`);
  }
  const failed = result.trials.filter((t) => t.value === null).length;
  if (failed > 0) lines.push(`${failed} trials failed or timed out; their errors are in trials.jsonl`);
  lines.push("");
  lines.push(`results in ${outDir}:`);
  for (const f of files) lines.push(`  ${f}`);
  if (result.ended === "interrupted" || result.ended === "budget") lines.push(`continue with: paratune tune --resume ${outDir} --budget <more time>`);
  return `${lines.join("\n")}\n`;
}
