// recommend(): the one call a deploy script makes. It answers from the store when this machine
// and this model were tuned before (no trial, well under a second), otherwise tunes within the
// budget and remembers the result; with a budget of 0 it answers from the performance model
// alone and says so. Every answer states its source, its confidence and the expected speedup,
// so a script can decide whether to trust it.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { probe } from "../probes/index.js";
import { UserInputError } from "./errors.js";
import { lookupStore, reportingProblems, saveToStore, storeKey, takeTurn, type StoreEntry, type StoreKey, type StoreOptions } from "./store.js";
import { cacheDir } from "./paths.js";
import { llamaObjective } from "./tune/objective.js";
import { DEFAULT_QUANTS, DEFAULT_SHAPE, syntheticModelPath } from "./synth-path.js";
import type { TuneOptions } from "./tune/index.js";
import type { HardwareProfile, ModelInfo, TuneResult, WorkloadDescription } from "./types.js";
import { envBlock, envRecord, renderEnv, writeEnvFile, type EnvMap, type EnvStyle } from "./outputs/env.js";
import { isAnswer, recommendationFromResult, type Recommendation } from "./outputs/recommendation.js";

import { DEFAULT_RECOMMEND_BUDGET_MS, recommendCommand } from "./recommend-command.js";

export { DEFAULT_RECOMMEND_BUDGET_MS } from "./recommend-command.js";
/** The trial shape of tune()'s llama workload; part of the store key, so fixed here. */
export const DEFAULT_PROMPT_TOKENS = 64;
export const DEFAULT_GEN_TOKENS = 32;

export interface RecommendOptions {
  /** GGUF files, one per quantization variant of one model. */
  models?: string[];
  /** A synthetic model of this preset shape instead (the default, like tune()). */
  shape?: string;
  quants?: string[];
  /** A command instead of a model (as `tune --cmd`): its template, placeholder values, variables and metric. */
  command?: string;
  params?: Record<string, string>;
  env?: Record<string, string>;
  metric?: string;
  direction?: "maximize" | "minimize";
  /** Time to spend tuning when the store has no answer; 0 answers from the models alone. */
  budgetMs?: number;
  objective?: "throughput" | "latency";
  promptTokens?: number;
  genTokens?: number;
  /** Passed to tune() when it runs. */
  tuner?: string;
  seed?: number;
  reps?: number;
  maxSequences?: number;
  batchSizes?: number[];
  oversubscribe?: boolean;
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

/**
 * ModelInfo by file path, size and modification time. Reading a GGUF header goes through
 * node-llama-cpp, whose first call in a process costs over a second; a store hit must not pay
 * that, and a file whose size and mtime did not change has the same header.
 */
async function cachedModelInfo(path: string): Promise<ModelInfo> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserInputError(`cannot read model file ${path}`, "pass an existing .gguf file with --model");
  }
  const id = createHash("sha256").update(`${resolve(path)}|${st.size}|${st.mtimeMs}`).digest("hex").slice(0, 24);
  const file = cacheDir("model-info", `${id}.json`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ModelInfo;
  } catch {
    // not cached yet (or unreadable): read the header below.
  }
  const { readModelInfo } = await import("./model-info.js");
  const info = await readModelInfo(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(info));
  } catch {
    // A read-only cache only costs speed.
  }
  return info;
}

/** The model files of the question, as tune() would resolve them (synthesised when none is given). */
async function modelInfos(options: RecommendOptions, note: (s: string) => void): Promise<ModelInfo[]> {
  if (options.models?.length) {
    if (options.quants) throw new UserInputError("--quant picks quantizations to synthesise; with --model the files are the variants", "pass one --model per quantization instead");
    return Promise.all(options.models.map((m) => cachedModelInfo(m)));
  }
  const shape = options.shape ?? DEFAULT_SHAPE;
  const quants = options.quants?.length ? options.quants : DEFAULT_QUANTS;
  if (!options.shape) note(`no model given: answering for a synthetic ${shape} model (${quants.join(", ")}); pass --model <file.gguf> for your own`);
  const out: ModelInfo[] = [];
  for (const quant of quants) {
    // A model synthesised before is found by its name; planning it again (to compare sizes)
    // costs a store hit 50-200 ms. Whatever cannot be read is synthesised again.
    const known = syntheticModelPath(shape, quant);
    const info = known && existsSync(known) ? await cachedModelInfo(known).catch(() => null) : null;
    if (info) {
      out.push(info);
      continue;
    }
    const { synthesize } = await import("./synth.js");
    out.push(await cachedModelInfo((await synthesize({ shape, quant })).path));
  }
  return out;
}

function objectiveOf(options: RecommendOptions): WorkloadDescription["objective"] {
  return llamaObjective(options.objective);
}

export async function recommend(asked: RecommendOptions = {}): Promise<RecommendAnswer> {
  if (asked.command !== undefined) return recommendCommand(asked);
  const started = performance.now();
  const note = asked.onNote ?? (() => {});
  // A damaged store file is said, naming it; the answer is then measured or predicted.
  const options = { ...asked, store: reportingProblems(asked.store, note) };
  const q = await llamaQuestion(options, note);
  const answer = async (recommendation: Recommendation, outDir: string | null): Promise<RecommendAnswer> => {
    const block = envBlock(recommendation, { style: options.envStyle, map: options.envMap });
    if (options.envFile && isAnswer(recommendation)) await writeEnvFile(options.envFile, block);
    else if (options.envFile) note(`no trial succeeded, so ${options.envFile} was left as it was`);
    return { recommendation, env: envRecord(block), envText: renderEnv(block), storeKey: q.key, outDir, elapsedMs: performance.now() - started };
  };

  if (!options.fresh) {
    const hit = reusable(lookupStore(q.key, options.store), note);
    if (hit) return answer(storeAnswer(hit.result, q.infos), null);
  }
  if (q.budgetMs === 0) {
    // The roofline needs the bandwidth curve; probe() reuses a cached one, so only the first
    // answer on a machine pays for measuring it (a few seconds, no trial).
    const withBandwidth = q.hardware.bandwidth ? q.hardware : await probe({ bandwidth: true });
    const { predictRecommendation } = await import("./recommend-predict.js");
    return answer(await predictRecommendation(withBandwidth, q.infos, { ...options, promptTokens: q.promptTokens, genTokens: q.genTokens, objective: options.objective }), null);
  }

  // One tuning of this question at a time on this machine: a second caller waits for the first
  // one's answer instead of measuring while it measures.
  const turn = await takeTurn(q.key, {
    ...options.store,
    waitMs: q.budgetMs + 5 * 60_000,
    fresh: options.fresh,
    onWait: () => note("another paratune is tuning this machine for this model; waiting for its answer"),
  });
  if ("entry" in turn) return answer(storeAnswer(turn.entry.result, q.infos), null);
  try {
    // An answer may have been saved between our look-up and taking the turn.
    const late = options.fresh ? null : reusable(lookupStore(q.key, options.store), note);
    if (late) return answer(storeAnswer(late.result, q.infos), null);
    const tunedAt = new Date().toISOString();
    // Loaded only when a tuning runs: the study pulls in node-llama-cpp, the models and vega.
    const { tuneRun } = await import("./tuning.js");
    const run = await tuneRun({ ...tuneOptionsOf(options, q, note), envStyle: options.envStyle, envMap: options.envMap });
    // tune() saves a result with a measured best to the store under the same key; save it here
    // only when it did not (a run where every trial failed is for the user to read, not to reuse).
    const saved = lookupStore(q.key, options.store);
    if (run.result.best && !(saved && saved.savedAt >= tunedAt)) await saveToStore(run.result, q.key, options.store);
    return await answer(recommendationFromResult(run.result, "tuned"), run.outDir);
  } finally {
    await turn.release();
  }
}

/** What a llama recommendation answers: the machine, the model files, the trial shape, and the store key they make. */
interface LlamaQuestion {
  budgetMs: number;
  promptTokens: number;
  genTokens: number;
  hardware: HardwareProfile;
  infos: ModelInfo[];
  key: StoreKey;
}

async function llamaQuestion(options: RecommendOptions, note: (s: string) => void): Promise<LlamaQuestion> {
  const budgetMs = options.budgetMs ?? DEFAULT_RECOMMEND_BUDGET_MS;
  if (!(budgetMs >= 0) || !Number.isFinite(budgetMs)) throw new UserInputError(`budget must be 0 or a duration, got ${budgetMs} ms`, "e.g. --budget 0 (predict only) or --budget 2m");
  if (options.models?.length && options.shape) throw new UserInputError("--model and --shape both say which model to use", "give one of them");
  const promptTokens = options.promptTokens ?? DEFAULT_PROMPT_TOKENS;
  const genTokens = options.genTokens ?? DEFAULT_GEN_TOKENS;
  // Identify the question first: machine fingerprint (no bandwidth measurement needed), model
  // identity (the GGUF header), workload and objective. That is all a store hit costs.
  // Without cache sizes or the GPU backend, which the fingerprint does not use: finding them can
  // take seconds (systeminformation, node-llama-cpp).
  const hardware = options.hardware ?? (await probe({ bandwidth: false, cacheSizes: false, llamaGpu: false }));
  const infos = await modelInfos(options, note);
  const description: WorkloadDescription = { kind: "llama", objective: objectiveOf(options), models: infos, settings: { promptTokens, genTokens } };
  return { budgetMs, promptTokens, genTokens, hardware, infos, key: storeKey(hardware.fingerprint, description) };
}

/**
 * The recommendation of a stored tuning. The stored run may have read the model from another
 * path (same header, same size): the answer names the file this question was asked about.
 */
function storeAnswer(result: TuneResult, infos: ModelInfo[]): Recommendation {
  const rec = recommendationFromResult(result, "store");
  rec.modelPath = (infos.find((m) => m.quant === rec.config.quant) ?? infos[0]).path;
  return rec;
}

/**
 * A stored entry that may answer. A llama tuning from before the workers ran one libuv pool
 * thread measured threads = cores configurations up to a fifth low (docs/workloads.md): it is
 * measured again instead.
 */
function reusable(entry: StoreEntry | null, note: (s: string) => void): StoreEntry | null {
  if (entry && predatesOnePoolThread(entry.result)) {
    note(`the stored tuning of ${entry.savedAt} was measured by an older paratune (workers on libuv's pool of 4 threads); not reusing it`);
    return null;
  }
  return entry;
}

function tuneOptionsOf(options: RecommendOptions, q: LlamaQuestion, note: (s: string) => void): TuneOptions {
  return {
    models: options.models,
    shape: options.models?.length ? undefined : options.shape,
    quants: options.models?.length ? undefined : options.quants,
    budgetMs: q.budgetMs,
    objective: options.objective,
    promptTokens: q.promptTokens,
    genTokens: q.genTokens,
    tuner: options.tuner,
    seed: options.seed,
    reps: options.reps,
    maxSequences: options.maxSequences,
    batchSizes: options.batchSizes,
    oversubscribe: options.oversubscribe,
    outDir: options.outDir,
    hardware: options.hardware,
    signal: options.signal,
    progress: options.progress,
    onNote: note,
  };
}

/**
 * Whether a stored tuning of the llama workload predates workers with one libuv pool thread (its
 * settings have no threadPoolSize): with libuv's default four, configurations with as many
 * threads as cores measured 10-20% low on the 16-core Xeon, so its best may not be the best.
 */
export function predatesOnePoolThread(result: TuneResult): boolean {
  return result.workload.kind === "llama" && result.workload.settings.threadPoolSize === undefined;
}
