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
import { storeKey, type StoreEntry, type StoreKey } from "./store.js";
import { cacheDir } from "./paths.js";
import { llamaObjective } from "./tune/objective.js";
import { pickDefinition } from "./tune/definition.js";
import { DEFAULT_QUANTS, DEFAULT_SHAPE, syntheticModelPath } from "./synth-path.js";
import type { TuneOptions } from "./tune/index.js";
import type { HardwareProfile, ModelInfo, TuneResult, WorkloadDescription } from "./types.js";
import { recommendationFromResult, type Recommendation } from "./outputs/recommendation.js";
import { answer, askingFor, DEFAULT_RECOMMEND_BUDGET_MS, storedAnswer, tunedAnswer, type RecommendAnswer, type RecommendOptions } from "./recommend-flow.js";
import { recommendCommand } from "./recommend-command.js";

export { DEFAULT_RECOMMEND_BUDGET_MS } from "./recommend-flow.js";
export type { RecommendAnswer, RecommendOptions };

/** The trial shape of tune()'s llama workload; part of the store key, so fixed here. */
export const DEFAULT_PROMPT_TOKENS = 64;
export const DEFAULT_GEN_TOKENS = 32;

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

export async function recommend(options: RecommendOptions = {}): Promise<RecommendAnswer> {
  if (options.command !== undefined) return recommendCommand(options);
  const started = performance.now();
  const note = options.onNote ?? (() => {});
  const q = await llamaQuestion(options, note);
  const asking = askingFor(options, q.key, started, (entry) => (reusable(entry, note) ? storeAnswer(entry.result, q.infos) : null));
  const stored = await storedAnswer(asking);
  if (stored) return stored;
  if (q.budgetMs === 0) {
    if (options.maxLatencyMs !== undefined) {
      throw new UserInputError("with --budget 0 a latency limit cannot be checked: the models predict throughput, not time per output token", "give a budget (e.g. --budget 2m) to measure it, or leave out --max-latency");
    }
    // The roofline needs the bandwidth curve; probe() reuses a cached one, so only the first
    // answer on a machine pays for measuring it (a few seconds, no trial).
    const withBandwidth = q.hardware.bandwidth ? q.hardware : await probe({ bandwidth: true });
    const { predictRecommendation } = await import("./recommend-predict.js");
    return answer(asking, await predictRecommendation(withBandwidth, q.infos, { ...options, promptTokens: q.promptTokens, genTokens: q.genTokens, objective: options.objective }), null);
  }
  return tunedAnswer(asking, {
    budgetMs: q.budgetMs,
    waitingNote: "another paratune is tuning this machine for this model; waiting for its answer",
    run: async () => {
      // Loaded only when a tuning runs: the study pulls in node-llama-cpp, the models and vega.
      const { tuneRun } = await import("./tuning.js");
      return tuneRun({ ...tuneOptionsOf(options, q, note), envStyle: options.envStyle, envMap: options.envMap });
    },
  });
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
  // The flags' contradictions (--model with --shape, a latency limit with --objective latency)
  // are refused as tune() would refuse them, before the store is asked.
  pickDefinition(options);
  const promptTokens = options.promptTokens ?? DEFAULT_PROMPT_TOKENS;
  const genTokens = options.genTokens ?? DEFAULT_GEN_TOKENS;
  // Identify the question first: machine fingerprint (no bandwidth measurement needed), model
  // identity (the GGUF header), workload and objective. That is all a store hit costs.
  // Without cache sizes or the GPU backend, which the fingerprint does not use: finding them can
  // take seconds (systeminformation, node-llama-cpp).
  const hardware = options.hardware ?? (await probe({ bandwidth: false, cacheSizes: false, llamaGpu: false }));
  const infos = await modelInfos(options, note);
  const settings = { promptTokens, genTokens, ...(options.maxLatencyMs !== undefined ? { maxLatencyMs: options.maxLatencyMs } : {}) };
  const description: WorkloadDescription = { kind: "llama", objective: objectiveOf(options), models: infos, settings };
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
 * Whether a stored entry may answer. A llama tuning from before the workers ran one libuv pool
 * thread measured threads = cores configurations up to a fifth low (docs/workloads.md): it is
 * measured again instead.
 */
function reusable(entry: StoreEntry, note: (s: string) => void): boolean {
  if (!predatesOnePoolThread(entry.result)) return true;
  note(`the stored tuning of ${entry.savedAt} was measured by an older paratune (workers on libuv's pool of 4 threads); not reusing it`);
  return false;
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
    maxLatencyMs: options.maxLatencyMs,
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
