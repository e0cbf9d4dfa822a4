// The study of a tuning run: probe the machine, get the model files (or synthesise them), build
// the search space, spend the budget on trials, and write the journal and the result into the
// output folder. The budget clock starts here, so probing and
// synthesis are paid from it.

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { probe } from "../../probes/index.js";
import { createTuner, TUNER_NAMES } from "../../tuners/index.js";
import { UserInputError } from "../errors.js";
import { ENUMERATION_LIMIT, enumerate, infeasibility, spaceSize } from "../space.js";
import type { Config, HardwareProfile, SearchSpace, TrialRecord, TuneResult } from "../types.js";
import { makeFolder } from "../atomic-file.js";
import { saveToStore } from "../store.js";
import { Budget } from "./budget.js";
import { Journal, JOURNAL_FILE, readJournal } from "./journal.js";
import { STUDY_FILE, type StudyContext } from "./study-file.js";
import { TuneProgress } from "./progress.js";
import { buildResult } from "./result.js";
import { bestOf, runStudy, type StudyOutcome } from "./study.js";
import { FinalRace } from "./race.js";
import { commandSetup, llamaSetup, type Setup } from "./setup.js";
import { DEFINING_KEYS, pickDefinition, type StudyDefinition } from "./definition.js";
import { finalPredictor } from "./final-model.js";
import { describeConfig } from "../format.js";

export { buildLlamaSpace, llamaBaseline, memoryNeed, usableCores, usableMemoryBytes } from "./space-builder.js";
export { runStudy } from "./study.js";
export { commandDescription } from "./setup.js";
export { readJournal, Journal, JOURNAL_FILE } from "./journal.js";
export { DEFAULT_SHAPE, DEFAULT_QUANTS } from "./model-source.js";

export const RESULT_FILE = "result.json";
export { STUDY_FILE, type StudyContext } from "./study-file.js";
export const DEFAULT_BUDGET_MS = 60_000;

export interface TuneOptions extends StudyDefinition {
  budgetMs?: number;

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
  /** Re-measure the finalists in a final race before answering (default true). */
  race?: boolean;
}

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
  const { definition, outDir, previous, tunerName } = openStudy(options, note);

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
    await recordMachine(outDir, hardware, definition, options);

    // ---- workload and search space
    const setup = definition.command
      ? commandSetup(definition, hardware)
      : await llamaSetup(definition, hardware, budget, note, (p) => progress.setPhase(p), options.signal);
    // What a report needs besides the journal, kept from the start: a run killed before it
    // wrote its results can still be reported (paratune report rebuilds from these two files).
    const study = JSON.parse(readFileSync(join(outDir, STUDY_FILE), "utf8")) as Record<string, unknown>;
    const context: StudyContext = { tuner: tunerName, budgetMs, hardware, workload: setup.description, params: setup.space.params, baseline: setup.baseline };
    await writeJson(join(outDir, STUDY_FILE), { ...study, context });

    const elapsedOffsetMs = previous.reduce((m, t) => Math.max(m, t.elapsedMs), 0);
    const outcome = await studyInFolder({ options, setup, tunerName, seed: definition.seed ?? 1, budget, outDir, previous, elapsedOffsetMs, progress, note });

    const result = buildResult({
      tuner: tunerName,
      budgetMs,
      elapsedMs: elapsedOffsetMs + budget.elapsedMs(),
      ended: outcome.ended,
      hardware,
      workload: setup.description,
      params: outcome.space.params,
      trials: outcome.trials,
      infeasible: infeasibleList(outcome.space, outcome.skipped),
      race: outcome.race,
      growth: setup.growth ? { events: outcome.growth, ends: setup.growth.ends(outcome.space, outcome.trials) } : undefined,
      baseline: setup.baseline,
      predict: finalPredictor({ hardware, workload: setup.description, params: outcome.space.params, trials: outcome.trials }),
    });
    progress.setPhase("writing the results");
    const files = [join(outDir, JOURNAL_FILE), join(outDir, RESULT_FILE)];
    await writeJson(join(outDir, RESULT_FILE), result);
    if (options.store !== false && result.best) {
      try {
        await saveToStore(result, undefined, { onProblem: note });
      } catch (err) {
        note(`could not save the result to the store of past tunings: ${(err as Error).message}`);
      }
    }
    return { result, outDir, files };
  } finally {
    progress.stop();
  }
}


interface OpenedStudy {
  definition: StudyDefinition;
  outDir: string;
  /** Trials of the run being resumed; none for a fresh study. */
  previous: TrialRecord[];
  tunerName: string;
}

/** The study's definition and folder, fresh or from the folder being resumed. */
function openStudy(options: TuneOptions, note: (n: string) => void): OpenedStudy {
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
  makeFolder(outDir, "the output folder");
  return { definition, outDir, previous, tunerName };
}

/** study.json's machine: checked against a resumed run's, written for a fresh one. */
async function recordMachine(outDir: string, hardware: HardwareProfile, definition: StudyDefinition, options: TuneOptions): Promise<void> {
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
}

interface StudyInFolder {
  options: TuneOptions;
  setup: Setup;
  tunerName: string;
  seed: number;
  budget: Budget;
  outDir: string;
  previous: TrialRecord[];
  elapsedOffsetMs: number;
  progress: TuneProgress;
  note: (n: string) => void;
}

/** The study itself, journaled into the folder, with the progress display following it. */
async function studyInFolder(run: StudyInFolder): Promise<StudyOutcome> {
  const { options, setup, tunerName, seed, budget, outDir, previous, elapsedOffsetMs, progress, note } = run;
  const budgetMs = budget.budgetMs;
  const makeTuner = (space: SearchSpace) => createTuner(tunerName, space, { seed, priorMean: setup.priorMean });
  const tuner = makeTuner(setup.space);
  if (previous.length > 0) {
    setup.learn?.(previous);
    progress.resumeFrom(previous, bestOf(previous));
  }
  const journal = new Journal(join(outDir, JOURNAL_FILE));
  let outcome: StudyOutcome;
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
      growth: setup.growth,
      makeTuner,
      race: options.race === false ? undefined : new FinalRace(),
      onRace: (entries, round) => progress.setPhase(`final race, round ${round}: ${entries.length} finalists measured again in turn`),
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
  return outcome;
}

/**
 * Every configuration of the space that the constraints rule out, with the reason, plus any the
 * tuner asked for. Tuners never ask for infeasible ones (their candidate pools are the feasible
 * configurations), so the space itself is the list; it is small (tens to hundreds).
 */
function infeasibleList(space: SearchSpace, skipped: { config: Config; reason: string }[]): { config: Config; reason: string }[] {
  const seen = new Map<string, { config: Config; reason: string }>();
  for (const s of skipped) seen.set(JSON.stringify(s.config), s);
  // A space too large to list is only sampled; the trials the study skipped are all it knows.
  if (spaceSize(space) > ENUMERATION_LIMIT) return [...seen.values()];
  for (const config of enumerate(space)) {
    const reason = infeasibility(space, config);
    if (reason) seen.set(JSON.stringify(config), { config, reason });
  }
  return [...seen.values()];
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

