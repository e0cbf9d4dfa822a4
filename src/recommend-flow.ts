// What recommend() does once a question has its store key, whatever the question is about (a
// llama model or a user's command): answer from the store, or tune once on this machine and
// remember the result, and hand back the answer with its .env. The two kinds of question differ
// in how they are asked and tuned, not in this.

import { envBlock, envRecord, renderEnv, writeEnvFile, type EnvMap, type EnvStyle } from "./outputs/env.js";
import { isAnswer, recommendationFromResult, type Recommendation } from "./outputs/recommendation.js";
import { lookupStore, reportingProblems, saveToStore, takeTurn, type StoreEntry, type StoreKey, type StoreOptions } from "./store.js";
import type { StudyDefinition } from "./tune/definition.js";
import type { HardwareProfile, TuneResult } from "./types.js";

/** What recommend() tunes when the store has no answer, unless told otherwise. */
export const DEFAULT_RECOMMEND_BUDGET_MS = 120_000;

/** The question (what a tuning would tune, as tune() takes it: a llama model or a command) and how to answer it. */
export interface RecommendOptions extends StudyDefinition {
  /** Time to spend tuning when the store has no answer; 0 answers from the models alone (a llama model only). */
  budgetMs?: number;
  /** Names of the variables in the answer's .env. */
  envStyle?: EnvStyle;
  envMap?: EnvMap;
  /** Also merge the answer into this .env file, keeping its other keys. */
  envFile?: string;
  /** Where a tuning run writes its folder (default ./paratune-out/<timestamp>). */
  outDir?: string;
  /** Ignore the store and tune (or predict) again. */
  fresh?: boolean;
  /** A profile to use instead of probing. */
  hardware?: HardwareProfile;
  store?: StoreOptions;
  signal?: AbortSignal;
  progress?: boolean;
  onNote?: (note: string) => void;
}

export interface RecommendAnswer {
  recommendation: Recommendation;
  /** The .env values, by variable name. */
  env: Record<string, string>;
  /** The .env as text, comments included (what `paratune recommend` prints). */
  envText: string;
  storeKey: StoreKey;
  /** The tuning run's folder when this answer was tuned now. */
  outDir: string | null;
  /** How long answering took. */
  elapsedMs: number;
}

/** One question being answered: its key, where its .env goes, and whom to tell what. */
export interface Asking {
  key: StoreKey;
  /** performance.now() when the question was asked. */
  started: number;
  note: (line: string) => void;
  envStyle?: EnvStyle;
  envMap?: EnvMap;
  /** Also merge the answer into this .env file. */
  envFile?: string;
  store?: StoreOptions;
  /** Ignore the store: tune again. */
  fresh?: boolean;
  /** A stored tuning as this question's recommendation, or null when it may not answer. */
  fromStore: (entry: StoreEntry) => Recommendation | null;
}

/** The asking of a question under `key`, as the options say to answer it. */
export function askingFor(options: RecommendOptions, key: StoreKey, started: number, fromStore: Asking["fromStore"]): Asking {
  const note = options.onNote ?? (() => {});
  return {
    key,
    started,
    note,
    envStyle: options.envStyle,
    envMap: options.envMap,
    envFile: options.envFile,
    // A damaged store file is said, naming it; the answer is then measured or predicted.
    store: reportingProblems(options.store, note),
    fresh: options.fresh,
    fromStore,
  };
}

/** The answer for a recommendation: its .env rendered, and merged into the user's file when it is a measured answer. */
export async function answer(asking: Asking, recommendation: Recommendation, outDir: string | null): Promise<RecommendAnswer> {
  const block = envBlock(recommendation, { style: asking.envStyle, map: asking.envMap });
  if (asking.envFile && isAnswer(recommendation)) await writeEnvFile(asking.envFile, block);
  else if (asking.envFile) asking.note(`no trial succeeded, so ${asking.envFile} was left as it was`);
  return { recommendation, env: envRecord(block), envText: renderEnv(block), storeKey: asking.key, outDir, elapsedMs: performance.now() - asking.started };
}

/** The stored answer to the question, unless the user asked afresh or the store has none that may answer. */
export async function storedAnswer(asking: Asking): Promise<RecommendAnswer | null> {
  if (asking.fresh) return null;
  const entry = lookupStore(asking.key, asking.store);
  const recommendation = entry ? asking.fromStore(entry) : null;
  return recommendation ? answer(asking, recommendation, null) : null;
}

/**
 * Tunes the question and remembers the result. One tuning of a question at a time on a machine:
 * a second caller waits for the first one's answer instead of measuring while it measures.
 */
export async function tunedAnswer(
  asking: Asking,
  tuning: { budgetMs: number; waitingNote: string; run: () => Promise<{ result: TuneResult; outDir: string }> },
): Promise<RecommendAnswer> {
  const turn = await takeTurn(asking.key, {
    ...asking.store,
    waitMs: tuning.budgetMs + 5 * 60_000,
    fresh: asking.fresh,
    onWait: () => asking.note(tuning.waitingNote),
  });
  if ("entry" in turn) {
    const recommendation = asking.fromStore(turn.entry);
    // An entry that may not answer is no answer: wait for the turn itself, and tune.
    return recommendation ? answer(asking, recommendation, null) : tunedAnswer({ ...asking, fresh: true }, tuning);
  }
  try {
    // An answer may have been saved between the first look-up and taking the turn.
    const late = await storedAnswer(asking);
    if (late) return late;
    const tunedAt = new Date().toISOString();
    const run = await tuning.run();
    // tune() saves a result with a measured best under the same key; it is saved here only when
    // it was not (a run where every trial failed is for the user to read, not to reuse).
    const saved = lookupStore(asking.key, asking.store);
    if (run.result.best && !(saved && saved.savedAt >= tunedAt)) await saveToStore(run.result, asking.key, asking.store);
    return await answer(asking, recommendationFromResult(run.result, "tuned"), run.outDir);
  } finally {
    await turn.release();
  }
}
