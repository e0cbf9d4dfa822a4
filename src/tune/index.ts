// The study of a tuning run: probe the machine, get the model files (or synthesise them), build
// the search space, spend the budget on trials, and write the journal and the result into the
// output folder. The budget clock starts here, so probing and
// synthesis are paid from it.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { probe } from "../../probes/index.js";
import { RooflineModel } from "../../models/roofline.js";
import { createPerformanceModel } from "../../models/index.js";
import { createTuner, TUNER_NAMES } from "../../tuners/index.js";
import { UserInputError } from "../errors.js";
import { enumerate, infeasibility, parseParamSpec } from "../space.js";
import type { Config, HardwareProfile, Param, PerformanceModel, Prediction, SearchSpace, TrialRecord, TuneResult, Workload, WorkloadDescription } from "../types.js";
import { CommandWorkload } from "../workloads/command.js";
import { LlamaWorkload, trialPlan } from "../workloads/llama.js";
import { saveToStore } from "../store.js";
import { Budget } from "./budget.js";
import { Journal, JOURNAL_FILE, readJournal } from "./journal.js";
import { resolveModels } from "./model-source.js";
import { withRequestLatency } from "./objective.js";
import { TuneProgress } from "./progress.js";
import { buildResult } from "./result.js";
import { buildLlamaSpace, firstValuesBaseline, llamaBaseline } from "./space-builder.js";
import { bestOf, runStudy, type EndReason } from "./study.js";
import { describeConfig } from "../format.js";

export { buildLlamaSpace, llamaBaseline, memoryNeed, usableCores, usableMemoryBytes } from "./space-builder.js";
export { runStudy } from "./study.js";
export { readJournal, Journal, JOURNAL_FILE } from "./journal.js";
export { DEFAULT_SHAPE, DEFAULT_QUANTS } from "./model-source.js";

export const RESULT_FILE = "result.json";
/** The study's definition, kept so that --resume needs nothing but the folder. */
export const STUDY_FILE = "study.json";
export const DEFAULT_BUDGET_MS = 60_000;

export interface TuneOptions {
  /** GGUF files, one per quantization variant of one model. */
  models?: string[];
  /** Synthesise a model of this preset shape (the default when neither models nor command is given). */
  shape?: string;
  /** Quantizations to synthesise. */
  quants?: string[];
  /** Command workload: a shell command with {name} placeholders... */
  command?: string;
  /** ...and the values of each placeholder, as `parseParamSpec` reads them ("1,2,4" or "1..8"). */
  params?: Record<string, string>;
  /** Environment variables the command runs with; values may hold placeholders (OMP_NUM_THREADS={t}). */
  env?: Record<string, string>;
  /** Regular expression with one group that finds the metric in the output, or "wall". */
  metric?: string;
  direction?: "maximize" | "minimize";
  /** Timed repetitions per full trial (command: default 3; llama: default 3). */
  reps?: number;

  budgetMs?: number;
  tuner?: string;
  objective?: "throughput" | "latency";
  seed?: number;
  oversubscribe?: boolean;
  maxSequences?: number;
  batchSizes?: number[];
  promptTokens?: number;
  genTokens?: number;

  /** Output folder; default ./paratune-out/<timestamp>. */
  outDir?: string;
  /** Continue the study in this folder: its journal is told to the tuner and never rerun. */
  resume?: string;
  /** Ctrl-C: ends the run cleanly with what was measured. */
  signal?: AbortSignal;
  /** Draw the progress bar (on a terminal, without --json). */
  progress?: boolean;
  /** Notes for the user ("no model given: tuning a synthetic ..."). */
  onNote?: (note: string) => void;
  /** A profile to use instead of probing (tests, replays of another machine's profile). */
  hardware?: HardwareProfile;
  /** Save the result to the store of past tunings, for `paratune recommend` (default true). */
  store?: boolean;
}

/** What study.json keeps: the options that define the study (not the run's budget or signal). */
type StudyDefinition = Pick<
  TuneOptions,
  | "models" | "shape" | "quants" | "command" | "params" | "env" | "metric" | "direction" | "reps" | "tuner" | "objective"
  | "seed" | "oversubscribe" | "maxSequences" | "batchSizes" | "promptTokens" | "genTokens"
>;

const DEFINING_KEYS: (keyof StudyDefinition)[] = [
  "models", "shape", "quants", "command", "params", "env", "metric", "direction", "reps", "objective",
  "oversubscribe", "maxSequences", "batchSizes", "promptTokens", "genTokens",
];

export interface TuneRun {
  result: TuneResult;
  outDir: string;
  files: string[];
}

/**
 * Runs the study into its folder: study.json, the journal, result.json, and the store of past
 * tunings. The outputs for people (.env, report) are a layer above: src/tuning.ts writes them.
 */
export async function runTuning(options: TuneOptions = {}): Promise<TuneRun> {
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  if (!(budgetMs > 0)) throw new UserInputError(`budget must be positive, got ${budgetMs} ms`, "e.g. --budget 10m");
  const budget = new Budget(budgetMs);
  // Notes go above the progress bar once it exists.
  let progressRef: TuneProgress | null = null;
  const note = (n: string) => {
    const print = () => options.onNote?.(n);
    if (progressRef) progressRef.above(print);
    else print();
  };

  // ---- the study's definition, fresh or from the folder being resumed
  let definition: StudyDefinition;
  let outDir: string;
  let previous: TrialRecord[] = [];
  if (options.resume) {
    outDir = resolve(options.resume);
    const saved = join(outDir, STUDY_FILE);
    if (!existsSync(saved)) throw new UserInputError(`${outDir} holds no tuning run to resume (no ${STUDY_FILE})`, "pass the --out folder of an earlier paratune tune");
    definition = JSON.parse(readFileSync(saved, "utf8")).definition as StudyDefinition;
    for (const key of DEFINING_KEYS) {
      if (options[key] !== undefined && JSON.stringify(options[key]) !== JSON.stringify(definition[key])) {
        throw new UserInputError(`--resume continues the study as it was defined; ${key} cannot change`, `leave ${key} out, or start a new study with --out`);
      }
    }
    if (options.tuner) definition.tuner = options.tuner;
    if (options.seed !== undefined) definition.seed = options.seed;
    const journal = readJournal(join(outDir, JOURNAL_FILE));
    previous = journal.records;
    if (journal.tornLines > 0) note(`the journal's last line was cut short by a crash; that trial runs again`);
    note(`resuming ${outDir}: ${previous.length} trials already measured`);
  } else {
    definition = pickDefinition(options);
    outDir = resolve(options.outDir ?? join("paratune-out", timestamp()));
    if (existsSync(join(outDir, JOURNAL_FILE)) && readJournal(join(outDir, JOURNAL_FILE)).records.length > 0) {
      throw new UserInputError(`${outDir} already holds a tuning run`, `continue it with --resume ${outDir}, or choose another --out`);
    }
  }
  const tunerName = definition.tuner ?? "bayes";
  if (!(TUNER_NAMES as readonly string[]).includes(tunerName)) {
    throw new UserInputError(`unknown tuner "${tunerName}"`, `use one of: ${TUNER_NAMES.join(", ")}`);
  }
  mkdirSync(outDir, { recursive: true });

  const progress = new TuneProgress({
    budgetMs,
    elapsedMs: () => budget.elapsedMs(),
    formatValue: (v) => formatObjective(v, definition),
    enabled: options.progress === true,
  });
  progressRef = progress;
  try {
    progress.setPhase("probing the machine");
    const hardware = options.hardware ?? (await probe({ bandwidth: true }));
    // A busy machine (other work on the cores) distorts every trial; the user should know.
    for (const w of hardware.warnings) note(w);
    if (options.resume) {
      // Trials measured on another machine (a copied folder) must not mix with this one's.
      const saved = JSON.parse(readFileSync(join(outDir, STUDY_FILE), "utf8")) as { fingerprint?: string };
      if (saved.fingerprint && saved.fingerprint !== hardware.fingerprint && !options.hardware) {
        throw new UserInputError(
          `${outDir} was measured on another machine (fingerprint ${saved.fingerprint}, this one is ${hardware.fingerprint})`,
          "start a new study here with --out; trials from different machines do not compare",
        );
      }
    } else {
      await writeJson(join(outDir, STUDY_FILE), { version: 1, createdAt: new Date().toISOString(), fingerprint: hardware.fingerprint, definition });
    }

    // ---- workload and search space
    const setup = definition.command
      ? commandSetup(definition, hardware)
      : await llamaSetup(definition, hardware, budget, note, (p) => progress.setPhase(p), options.signal);

    const tuner = createTuner(tunerName, setup.space, { seed: definition.seed ?? 1, priorMean: setup.priorMean });
    if (previous.length > 0) {
      setup.learn?.(previous);
      progress.resumeFrom(previous, bestOf(previous));
    }
    const journal = new Journal(join(outDir, JOURNAL_FILE));
    const elapsedOffsetMs = previous.reduce((m, t) => Math.max(m, t.elapsedMs), 0);
    let outcome: { trials: TrialRecord[]; skipped: { config: Config; reason: string }[]; ended: EndReason };
    try {
      outcome = await runStudy({
        space: setup.space,
        tuner,
        workload: setup.workload,
        budget,
        journal,
        previous,
        baseline: setup.baseline,
        rungs: setup.rungs,
        signal: options.signal,
        predict: setup.predictBefore,
        reserveMs: Math.min(3000, budgetMs * 0.05),
        elapsedOffsetMs,
        work: setup.work,
        onNote: note,
        onTrialStart: (config, fidelity) => {
          progress.setPhase(`${fidelity < 1 ? "short" : "full"} trial: ${describeConfig(config)}`);
        },
        onTrial: (record, state) => {
          setup.learn?.(state.trials);
          progress.trialDone(record, state.best);
        },
      });
    } finally {
      journal.close();
      await setup.workload.close?.();
    }

    const result = buildResult({
      tuner: tunerName,
      budgetMs,
      elapsedMs: elapsedOffsetMs + budget.elapsedMs(),
      ended: outcome.ended,
      hardware,
      workload: setup.description,
      params: setup.space.params,
      trials: outcome.trials,
      infeasible: infeasibleList(setup.space, outcome.skipped),
      baseline: setup.baseline,
      predict: setup.predictPrior,
    });
    progress.setPhase("writing the results");
    const files = [join(outDir, JOURNAL_FILE), join(outDir, RESULT_FILE)];
    await writeJson(join(outDir, RESULT_FILE), result);
    if (options.store !== false && result.best) {
      try {
        await saveToStore(result);
      } catch (err) {
        note(`could not save the result to the store of past tunings: ${(err as Error).message}`);
      }
    }
    return { result, outDir, files };
  } finally {
    progress.stop();
  }
}

interface Setup {
  space: SearchSpace;
  workload: Workload;
  baseline: Config;
  rungs: number[];
  description: WorkloadDescription;
  priorMean?: (config: Config) => number;
  /** Prediction stored with each trial, from the model calibrated on the trials before it. */
  predictBefore?: (config: Config) => Prediction | null;
  /** Prediction from the uncalibrated model: the predicted speedups of the result. */
  predictPrior?: (config: Config) => Prediction | null;
  learn?: (trials: TrialRecord[]) => void;
  /** Relative work of a configuration's trial, for judging its duration. */
  work?: (config: Config) => number;
}

function commandSetup(def: StudyDefinition, hardware: HardwareProfile): Setup {
  const params: Param[] = Object.entries(def.params ?? {}).map(([name, spec]) => parseParamSpec(name, spec));
  const reps = def.reps ?? 3;
  const workload = new CommandWorkload({ command: def.command!, env: def.env, metric: def.metric ?? "wall", direction: def.direction, reps });
  const missing = workload.parameters.filter((p) => !params.some((q) => q.name === p));
  if (missing.length > 0) {
    throw new UserInputError(`the command uses {${missing.join("}, {")}} but no --param gives ${missing.length > 1 ? "their" : "its"} values`, `add --param ${missing[0]}=1,2,4`);
  }
  if (params.length === 0) throw new UserInputError("nothing to tune: the command has no {placeholders}", 'e.g. --cmd "./bench --threads {threads}" --param threads=1,2,4');
  const space: SearchSpace = { params, constraints: [] };
  const setup: Setup = {
    space,
    workload,
    baseline: firstValuesBaseline(space),
    // Fewer repetitions is the only cheaper trial a command has; with one repetition there is none.
    rungs: reps >= 3 ? [1 / reps, 1] : [1],
    description: commandDescription(def, workload.objective, reps),
  };
  // No roofline for an arbitrary command: the USL over workers/threads/sequences placeholders,
  // or the GP surrogate, once trials have measured something (a maximised, positive metric).
  if (workload.objective.direction === "maximize") learnWith(setup, createPerformanceModel({ hardware, space }));
  return setup;
}

/** What a command tuning measured: the command, the variables it set and how its metric was read. */
export function commandDescription(
  def: Pick<StudyDefinition, "command" | "env" | "metric">,
  objective: WorkloadDescription["objective"],
  reps: number,
): WorkloadDescription {
  return {
    kind: "command",
    objective,
    command: def.command,
    ...(def.env && Object.keys(def.env).length > 0 ? { env: def.env } : {}),
    metric: def.metric ?? "wall",
    settings: { reps },
  };
}

async function llamaSetup(
  def: StudyDefinition,
  hardware: HardwareProfile,
  budget: Budget,
  note: (s: string) => void,
  phase: (s: string) => void,
  signal?: AbortSignal,
): Promise<Setup> {
  const models = await resolveModels({ models: def.models, shape: def.shape, quants: def.quants, note, phase, signal, budget });
  const promptTokens = def.promptTokens ?? 64;
  const genTokens = def.genTokens ?? 32;
  const reps = def.reps ?? 3;
  // The worker sizes each sequence's context as prompt + generated + 8 (src/workloads/llama-worker.ts).
  const contextPerSequence = promptTokens + genTokens + 8;
  const space = buildLlamaSpace(hardware, models.map((m) => m.info), {
    oversubscribe: def.oversubscribe,
    maxSequences: def.maxSequences,
    batchSizes: def.batchSizes,
    contextPerSequence,
  });
  const llama = new LlamaWorkload({ models: Object.fromEntries(models.map((m) => [m.info.quant, m.info.path])), promptTokens, genTokens, reps });
  const objective = def.objective ?? "throughput";
  const workload = objective === "latency" ? withRequestLatency(llama, genTokens, (level) => trialPlan({ level }, genTokens, reps).genTokens) : llama;
  const infos = models.map((m) => m.info);
  const description: WorkloadDescription = {
    kind: "llama",
    objective: workload.objective,
    models: infos,
    // threadPoolSize: the workers' libuv pool (1 since session 4; results of older versions ran 4).
    settings: { promptTokens, genTokens, reps, contextPerSequence, threadPoolSize: llama.threadPoolSize, ...(models[0].synthetic ? { synthetic: models[0].synthetic } : {}) },
  };
  const setup: Setup = {
    space,
    workload,
    baseline: llamaBaseline(space, hardware),
    // A short trial generates a quarter of the tokens once (at least 8, see trialPlan in
    // src/workloads/llama.ts); a full one all of them, `reps` times.
    rungs: [Math.min(1, Math.max(8 / genTokens, 1 / 9)), 1],
    description,
    // Every sequence of every worker is prompted and generates its tokens.
    work: (c) => Number(c.workers ?? 1) * Number(c.sequences ?? 1),
  };
  if (objective === "throughput") {
    // The roofline predicts decode tok/s; for latency we have no model, and claim none.
    const contextTokens = promptTokens + genTokens / 2;
    const prior = new RooflineModel({ hardware, models: infos, contextTokens });
    setup.priorMean = (c) => prior.predict(c).mean;
    setup.predictPrior = (c) => safePredict(prior, c);
    learnWith(setup, createPerformanceModel({ hardware, models: infos, space, contextTokens }));
  }
  return setup;
}

/**
 * Per-trial predictions from the models engineer's adaptive model (the roofline calibrated on
 * the trials so far, or whichever candidate cross-validates best once there are enough), refit
 * after every trial.
 */
function learnWith(setup: Setup, model: PerformanceModel): void {
  setup.predictBefore = (c) => safePredict(model, c);
  setup.learn = (trials) => {
    const observations = trials.map((t) => ({ config: t.config, status: t.measurement.status, value: t.value, fidelity: t.fidelity }));
    try {
      model.fit(observations);
    } catch {
      // A fit that fails keeps the previous one: predictions are an aid to the report, never a
      // reason to stop tuning.
    }
  };
}

function safePredict(model: PerformanceModel, config: Config): Prediction | null {
  try {
    const p = model.predict(config);
    return Number.isFinite(p.mean) ? p : null;
  } catch {
    return null;
  }
}

/**
 * Every configuration of the space that the constraints rule out, with the reason, plus any the
 * tuner asked for. Tuners never ask for infeasible ones (their candidate pools are the feasible
 * configurations), so the space itself is the list; it is small (tens to hundreds).
 */
function infeasibleList(space: SearchSpace, skipped: { config: Config; reason: string }[]): { config: Config; reason: string }[] {
  const seen = new Map<string, { config: Config; reason: string }>();
  for (const s of skipped) seen.set(JSON.stringify(s.config), s);
  for (const config of enumerate(space)) {
    const reason = infeasibility(space, config);
    if (reason) seen.set(JSON.stringify(config), { config, reason });
  }
  return [...seen.values()];
}

function pickDefinition(o: TuneOptions): StudyDefinition {
  const def: StudyDefinition = {};
  for (const key of [...DEFINING_KEYS, "tuner", "seed"] as (keyof StudyDefinition)[]) {
    if (o[key] !== undefined) (def as Record<string, unknown>)[key] = o[key];
  }
  if (def.command && (def.models || def.shape || def.quants)) {
    throw new UserInputError("--cmd tunes a command; --model, --shape and --quant tune a llama model", "give one or the other");
  }
  if (def.models && def.shape) throw new UserInputError("--model and --shape both say which model to tune", "give one of them");
  if (def.env && !def.command) throw new UserInputError("--env sets variables of a command", 'use it with --cmd, e.g. --cmd "./prog" --env OMP_NUM_THREADS={t}');
  return def;
}

function formatObjective(value: number, def: StudyDefinition): string {
  if (def.command) {
    const minimised = def.direction ? def.direction === "minimize" : (def.metric ?? "wall") === "wall";
    return (minimised ? -value : value).toPrecision(4);
  }
  return def.objective === "latency" ? `${(-value).toFixed(0)} ms` : `${value.toFixed(1)} tok/s`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:]/g, "-").replace(/\..*$/, "");
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

