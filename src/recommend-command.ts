// recommend() for a user's own command: the same question `paratune tune --cmd` answered, asked
// with the same flags, is answered from the store when this machine tuned it before; otherwise
// the command is tuned within the budget and remembered. A store hit loads neither the tuner nor
// the process library: the look-up is the probe's fingerprint, the command's identity and one
// file read.

import { probe } from "../probes/index.js";
import { UserInputError } from "./errors.js";
import { envBlock, envRecord, renderEnv, writeEnvFile, type EnvMap, type EnvStyle } from "./outputs/env.js";
import { isAnswer, recommendationFromResult, type Recommendation } from "./outputs/recommendation.js";
import { parseParamSpec } from "./space.js";
import { lookupStore, reportingProblems, saveToStore, storeKey, takeTurn, type StoreKey, type StoreOptions } from "./store.js";
import type { HardwareProfile, Param, WorkloadDescription } from "./types.js";
import { commandObjective } from "./workloads/command-objective.js";
import { placeholders } from "./workloads/template.js";

/** What recommend() tunes when the store has no answer, unless told otherwise. */
export const DEFAULT_RECOMMEND_BUDGET_MS = 120_000;

/** recommend()'s options that a command question reads (recommend() passes its own through). */
export interface CommandRecommendOptions {
  /** The command as `tune --cmd` took it: template, placeholder values, variables, metric. */
  command?: string;
  params?: Record<string, string>;
  env?: Record<string, string>;
  metric?: string;
  direction?: "maximize" | "minimize";
  /** A llama model's flags: refused here, a command is the other kind of question. */
  models?: string[];
  shape?: string;
  quants?: string[];
  budgetMs?: number;
  reps?: number;
  tuner?: string;
  seed?: number;
  envStyle?: EnvStyle;
  envMap?: EnvMap;
  envFile?: string;
  outDir?: string;
  fresh?: boolean;
  hardware?: HardwareProfile;
  store?: StoreOptions;
  signal?: AbortSignal;
  progress?: boolean;
  onNote?: (note: string) => void;
}

/** recommend()'s answer (RecommendAnswer in recommend.ts has this shape). */
export interface CommandAnswer {
  recommendation: Recommendation;
  env: Record<string, string>;
  envText: string;
  storeKey: StoreKey;
  outDir: string | null;
  elapsedMs: number;
}

/** The question as the store keys it: the command, its variables, its metric and its parameters' values. */
export function commandQuestion(options: CommandRecommendOptions): { description: WorkloadDescription; params: Param[] } {
  const command = options.command ?? "";
  if (!command.trim()) throw new UserInputError("the command is empty", 'give one with --cmd "<command>"');
  if (options.models?.length || options.shape || options.quants?.length) {
    throw new UserInputError("--cmd asks about a command; --model, --shape and --quant about a llama model", "give one or the other");
  }
  const params = Object.entries(options.params ?? {}).map(([name, spec]) => parseParamSpec(name, spec));
  const used = new Set([command, ...Object.values(options.env ?? {})].flatMap(placeholders).filter((n) => n !== "fidelity"));
  const missing = [...used].filter((n) => !params.some((p) => p.name === n));
  if (missing.length > 0) {
    throw new UserInputError(`the command uses {${missing.join("}, {")}} but no --param gives ${missing.length > 1 ? "their" : "its"} values`, `add --param ${missing[0]}=1,2,4 (the same flags as the tuning run)`);
  }
  if (params.length === 0) throw new UserInputError("nothing to recommend: the command has no {placeholders}", 'e.g. --cmd "./bench --threads {threads}" --param threads=1,2,4');
  const metric = options.metric ?? "wall";
  const description: WorkloadDescription = {
    kind: "command",
    objective: commandObjective(metric, options.direction),
    command,
    ...(options.env && Object.keys(options.env).length > 0 ? { env: options.env } : {}),
    metric,
    settings: {},
  };
  return { description, params };
}

export async function recommendCommand(asked: CommandRecommendOptions): Promise<CommandAnswer> {
  const started = performance.now();
  const note = asked.onNote ?? (() => {});
  // A damaged store file is said, naming it; the answer is then tuned.
  const options = { ...asked, store: reportingProblems(asked.store, note) };
  const budgetMs = options.budgetMs ?? DEFAULT_RECOMMEND_BUDGET_MS;
  if (!(budgetMs >= 0) || !Number.isFinite(budgetMs)) throw new UserInputError(`budget must be 0 or a duration, got ${budgetMs} ms`, "e.g. --budget 2m");
  const { description, params } = commandQuestion(options);
  // The look-up needs the fingerprint only: no cache sizes, and no node-llama-cpp GPU check (a
  // child process that loads it), which a command workload never uses.
  const hardware = options.hardware ?? (await probe({ bandwidth: false, cacheSizes: false, llamaGpu: false }));
  const key = storeKey(hardware.fingerprint, description, params);

  const answer = async (recommendation: Recommendation, outDir: string | null): Promise<CommandAnswer> => {
    const block = envBlock(recommendation, { style: options.envStyle, map: options.envMap });
    if (options.envFile && isAnswer(recommendation)) await writeEnvFile(options.envFile, block);
    else if (options.envFile) note(`no trial succeeded, so ${options.envFile} was left as it was`);
    return { recommendation, env: envRecord(block), envText: renderEnv(block), storeKey: key, outDir, elapsedMs: performance.now() - started };
  };

  if (!options.fresh) {
    const hit = lookupStore(key, options.store);
    if (hit) return answer(recommendationFromResult(hit.result, "store"), null);
  }
  if (budgetMs === 0) {
    throw new UserInputError(
      "this command was not tuned on this machine with these flags, and with --budget 0 there is nothing to answer from: no model predicts an arbitrary command",
      "give a budget to tune it now (e.g. --budget 2m), or ask with the exact flags of the earlier `paratune tune --cmd`",
    );
  }
  return tuneAndAnswer(options, key, budgetMs, note, answer);
}

async function tuneAndAnswer(
  options: CommandRecommendOptions,
  key: StoreKey,
  budgetMs: number,
  note: (s: string) => void,
  answer: (rec: Recommendation, outDir: string | null) => Promise<CommandAnswer>,
): Promise<CommandAnswer> {
  // One tuning of this question at a time on this machine: a second caller waits for the first
  // one's answer instead of measuring while it measures.
  const turn = await takeTurn(key, {
    ...options.store,
    waitMs: budgetMs + 5 * 60_000,
    fresh: options.fresh,
    onWait: () => note("another paratune is tuning this command on this machine; waiting for its answer"),
  });
  if ("entry" in turn) return answer(recommendationFromResult(turn.entry.result, "store"), null);
  try {
    const late = options.fresh ? null : lookupStore(key, options.store);
    if (late) return answer(recommendationFromResult(late.result, "store"), null);
    const tunedAt = new Date().toISOString();
    // Loaded only on a miss: the tuner, the workloads and the charts cost seconds to import.
    const { tuneRun } = await import("./tuning.js");
    const run = await tuneRun({
      command: options.command,
      params: options.params,
      env: options.env,
      metric: options.metric,
      direction: options.direction,
      reps: options.reps,
      budgetMs,
      tuner: options.tuner,
      seed: options.seed,
      outDir: options.outDir,
      hardware: options.hardware,
      signal: options.signal,
      progress: options.progress,
      onNote: note,
      envStyle: options.envStyle,
      envMap: options.envMap,
    });
    const saved = lookupStore(key, options.store);
    if (run.result.best && !(saved && saved.savedAt >= tunedAt)) await saveToStore(run.result, key, options.store);
    return await answer(recommendationFromResult(run.result, "tuned"), run.outDir);
  } finally {
    await turn.release();
  }
}
