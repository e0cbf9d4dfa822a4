// The llama workload: P worker processes x S sequences x T threads running real inference through
// node-llama-cpp, started together at a barrier. Failure is data: every way a trial can go wrong
// ends as a Measurement with a status, and no worker outlives the trial.
import { execa, type ResultPromise } from "execa";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Config, Fidelity, Measurement, Metrics, TrialStatus, Workload } from "../types.js";
import { TrialError, UserInputError } from "../errors.js";
import type { ParentMessage, RepResult, WorkerMemory, WorkerMessage, WorkerSettings } from "./llama-protocol.js";
import { percentile, summarize, unmeasured } from "../statistics.js";
import { killTree, oomKillCount, processTree } from "./processes.js";
import { outputTail } from "./command.js";
import { GPUS_PER_WORKER, workerDevices } from "../gpu-placement.js";

export interface LlamaWorkloadOptions {
  /** The model file, or one per quantization (the `quant` parameter picks among them). */
  model?: string;
  models?: Record<string, string>;
  promptTokens?: number;
  /** Tokens generated per sequence at fidelity 1. */
  genTokens?: number;
  /** Timed repetitions at fidelity 1 (at least). */
  reps?: number;
  /**
   * A full trial times more repetitions, up to `maxReps`, while the decode rate's 95% margin of
   * error is above this fraction. Default: none (exactly `reps`, as `paratune bench` asks); the
   * tuner's trials use TUNE_TARGET_RME. `maxReps` defaults to twice `reps`.
   */
  targetRme?: number;
  maxReps?: number;
  /** Whole-trial limit: load, warm-up and all repetitions. */
  timeoutMs?: number;
  dispatch?: WorkerSettings["dispatch"];
  flashAttention?: boolean;
  /**
   * Options for the workers' Node.js itself (V8 flags such as --single-threaded-gc), placed before
   * the worker script. Default: PARATUNE_WORKER_NODE_ARGS split on spaces (for fidelity studies).
   */
  nodeArgs?: string[];
  /**
   * Size of libuv's thread pool in each worker (UV_THREADPOOL_SIZE). node-llama-cpp runs every
   * llama_decode as a job on that pool; with libuv's default of 4 the job lands on a different
   * pool thread from step to step, and at threads = cores the kernel then often starts ggml's
   * worker threads on the caller's own CPU, where they take turns while a core idles (16 threads x
   * 16 sequences read 11-21% faster with one pool thread: docs/measurements/).
   * Precedence: this option, then PARATUNE_WORKER_THREADPOOL_SIZE, then 1; a UV_THREADPOOL_SIZE
   * in paratune's own environment is replaced, not inherited.
   */
  threadPoolSize?: number;
  /**
   * nvidia-smi indices of the GPUs to place offloading workers on: with a `gpusPerWorker` in the
   * configuration each worker then sees only its group's GPUs (src/gpu-placement.ts). Otherwise a
   * worker sees whatever GPUs paratune's own environment shows.
   */
  gpuIndices?: number[];
  /** Called as the trial moves on: step 0 is loading, 1 the warm-up, 2.. the timed repetitions. */
  onProgress?: (step: number, steps: number) => void;
}

/** libuv pool threads per worker: one, so that every llama_decode runs on the same thread. */
const DEFAULT_THREAD_POOL_SIZE = 1;
/** libuv's own cap on UV_THREADPOOL_SIZE. */
const MAX_THREAD_POOL_SIZE = 1024;

/**
 * The workers' pool size from PARATUNE_WORKER_THREADPOOL_SIZE, else the default. A
 * UV_THREADPOOL_SIZE that paratune itself inherits (hosts often set one for their own Node.js
 * services) is deliberately not passed on: trials would silently measure the hopping pool.
 */
function poolSizeFromEnv(): number {
  const text = process.env.PARATUNE_WORKER_THREADPOOL_SIZE;
  if (text === undefined || text.trim() === "") return DEFAULT_THREAD_POOL_SIZE;
  if (!/^\s*\d+\s*$/.test(text)) throw new UserInputError(`PARATUNE_WORKER_THREADPOOL_SIZE must be a whole number from 1 to ${MAX_THREAD_POOL_SIZE}, got "${text}"`);
  return Number(text);
}

/** Tokens the untimed warm-up repetition generates: enough to touch every code path once. */
const WARMUP_TOKENS = 4;
/**
 * The warm-up's prompt per sequence: a batched prefill of every sequence, as the timed
 * repetitions start with, but short. Nothing of it is timed, and at many sequences on a slow
 * machine a full-length one costs as much as a short trial's timed repetition, where prefill
 * dominates.
 */
const WARMUP_PROMPT_TOKENS = 8;
/** Fewest tokens a low-fidelity trial generates, so one step's noise does not dominate. */
const MIN_GEN_TOKENS = 8;

/**
 * The worker runs as compiled JavaScript. From dist/ it sits next to this file; when this file
 * runs from source (tests), the compiled copy under dist/ is used.
 */
export function workerScriptPath(): string {
  const sibling = fileURLToPath(new URL("./llama-worker.js", import.meta.url));
  if (existsSync(sibling)) return sibling;
  const built = fileURLToPath(new URL("../../dist/src/workloads/llama-worker.js", import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`the llama worker is not built (looked for ${sibling} and ${built}); run npm run build`);
}

/** What a fidelity level means for this workload (documented in docs/workloads.md). */
export function trialPlan(fidelity: Fidelity, genTokens: number, reps: number): { genTokens: number; reps: number } {
  if (fidelity.level >= 1) return { genTokens, reps };
  return { genTokens: Math.min(genTokens, Math.max(MIN_GEN_TOKENS, Math.round(genTokens * fidelity.level))), reps: 1 };
}

function positiveInt(config: Config, key: string, fallback: number): number {
  const v = config[key] ?? fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TrialError(`${key} must be a positive integer, got ${String(v)}`, "infeasible");
  return n;
}

type WorkerProcessOptions = {
  ipc: true;
  serialization: "json";
  all: true;
  reject: false;
  stdin: "ignore";
  env: Record<string, string | undefined>;
};

/**
 * Peak memory of the pool from the workers' own snapshots: PSS summed over the workers of one
 * round (the page cache's shared model counted once in total), RSS as the sum of each worker's
 * kernel-tracked peak (the model counted once per worker).
 */
class MemoryPeaks {
  private pss = 0;
  private rss = 0;
  private rounds = 0;

  add(snapshots: (WorkerMemory | undefined)[]): void {
    const seen = snapshots.filter((m): m is WorkerMemory => m !== undefined);
    if (seen.length === 0) return;
    this.rounds++;
    this.pss = Math.max(this.pss, seen.reduce((s, m) => s + m.pssBytes, 0));
    this.rss = Math.max(this.rss, seen.reduce((s, m) => s + m.peakRssBytes, 0));
  }

  metrics(): Metrics {
    return this.rounds > 0 ? { peakRssBytes: this.rss, peakPssBytes: this.pss } : {};
  }
}

interface Worker {
  index: number;
  process: ResultPromise<WorkerProcessOptions>;
  pid: number;
  inbox: WorkerMessage[];
  wake: (() => void) | null;
  output: string;
  exited: boolean;
}

/** What a worker's exit needs of its trial. */
interface TrialHooks {
  failTrial: (err: TrialError) => void;
  stopping: () => boolean;
  oomBefore: number | null;
}

/**
 * The next message of every worker of the pool, all of one type; the trial's failure (a timeout,
 * Ctrl-C, a worker's exit) or a worker's "error" message ends the wait with a TrialError.
 */
function messagesOf(pool: Worker[], failed: Promise<never>) {
  const nextMessage = async (w: Worker): Promise<WorkerMessage> => {
    while (w.inbox.length === 0) {
      await Promise.race([new Promise<void>((resolve) => (w.wake = resolve)), failed]);
    }
    const m = w.inbox.shift()!;
    if (m.type === "error") {
      const status: TrialStatus = m.stage === "context" && /memory|alloc/i.test(m.message) ? "oom" : "failed";
      const what = m.stage === "load" ? "model could not load" : m.stage === "context" ? "context could not be created" : "inference failed";
      throw new TrialError(`worker ${w.index}: ${what}: ${m.message}`, status);
    }
    return m;
  };
  return <T extends WorkerMessage["type"]>(type: T) =>
    Promise.race([
      Promise.all(
        pool.map(async (w) => {
          const m = await nextMessage(w);
          if (m.type !== type) throw new TrialError(`worker ${w.index} sent ${m.type}, expected ${type}`);
          return m as Extract<WorkerMessage, { type: T }>;
        }),
      ),
      failed,
    ]);
}

/**
 * Sends a message to a worker that may have died since the last look. execa throws synchronously
 * when the channel is already closed and rejects when it closes mid-send; either way the worker's
 * exit handler is what reports the failure, so here both are ignored.
 */
async function sendIfConnected(w: Worker, message: ParentMessage): Promise<void> {
  try {
    await w.process.sendMessage(message);
  } catch {
    // the exit handler has the reason
  }
}

/**
 * Decode tok/s of one repetition over all workers on one wall clock: from the first worker's end
 * of prefill to the last worker's last token. Summing per-worker rates would count overlap that
 * did not happen.
 */
function decodeRate(results: RepResult[]): number {
  const decodeTokens = results.reduce((s, r) => s + r.decodeTokens, 0);
  const decodeMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.prefillEndAt));
  return decodeTokens / (decodeMs / 1000);
}

export class LlamaWorkload implements Workload {
  readonly name = "llama";
  readonly objective = { metric: "decodeTps", direction: "maximize" as const };
  readonly promptTokens: number;
  readonly genTokens: number;
  readonly reps: number;
  readonly targetRme: number;
  readonly maxReps: number;
  readonly timeoutMs: number;
  /**
   * libuv pool threads in each worker: UV_THREADPOOL_SIZE of its spawn environment (libuv reads it
   * once, when the pool starts, so it cannot be set from inside the worker).
   */
  readonly threadPoolSize: number;
  private readonly live = new Set<number>();

  constructor(private readonly options: LlamaWorkloadOptions) {
    if (!options.model && !options.models) throw new UserInputError("no model given", "pass --model <file.gguf>");
    for (const path of [options.model, ...Object.values(options.models ?? {})]) {
      if (path && !existsSync(path)) throw new UserInputError(`model file not found: ${path}`);
    }
    this.promptTokens = options.promptTokens ?? 64;
    this.genTokens = options.genTokens ?? 32;
    this.reps = options.reps ?? 3;
    this.targetRme = options.targetRme ?? Number.POSITIVE_INFINITY;
    this.maxReps = Math.max(this.reps, options.maxReps ?? 2 * this.reps);
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    for (const [name, v] of Object.entries({ promptTokens: this.promptTokens, genTokens: this.genTokens, reps: this.reps })) {
      if (!Number.isInteger(v) || v < 1) throw new UserInputError(`${name} must be a positive integer, got ${v}`);
    }
    // The first generated token comes out of the prompt's pass: decode speed needs a second one.
    if (this.genTokens < 2) throw new UserInputError(`genTokens must be at least 2, got ${this.genTokens}`, "the first token comes from the prompt pass; decode speed is timed on the ones after it");
    this.threadPoolSize = options.threadPoolSize ?? poolSizeFromEnv();
    if (!Number.isInteger(this.threadPoolSize) || this.threadPoolSize < 1 || this.threadPoolSize > MAX_THREAD_POOL_SIZE) {
      throw new UserInputError(`threadPoolSize must be a whole number from 1 to ${MAX_THREAD_POOL_SIZE}, got ${this.threadPoolSize}`);
    }
  }

  /** The model file for a configuration: its `quant` picks from `models`, else the one `model`. */
  modelFor(config: Config): string {
    const quant = config.quant;
    if (quant !== undefined && this.options.models) {
      const path = this.options.models[String(quant)];
      if (!path) throw new TrialError(`no model file for quant ${quant} (have ${Object.keys(this.options.models).join(", ")})`, "infeasible");
      return path;
    }
    const path = this.options.model ?? Object.values(this.options.models ?? {})[0];
    if (!path) throw new TrialError("no model file", "infeasible");
    return path;
  }

  async run(config: Config, fidelity: Fidelity = { level: 1 }, signal?: AbortSignal): Promise<Measurement> {
    const started = performance.now();
    const fail = (status: TrialStatus, error: string, metrics: Metrics = {}): Measurement =>
      unmeasured(this.objective.metric, fidelity, started, status, error, metrics);
    const plan = trialPlan(fidelity, this.genTokens, this.reps);
    let workers: number;
    let settings: WorkerSettings;
    try {
      ({ workers, settings } = this.workerSettings(config, plan));
    } catch (err) {
      if (err instanceof TrialError) return fail(err.status, err.message);
      throw err;
    }

    const oomBefore = oomKillCount();
    const pool: Worker[] = [];
    // Memory snapshots the workers took of themselves at barriers: one set per message round.
    const memory = new MemoryPeaks();
    let failTrial!: (err: TrialError) => void;
    const failed = new Promise<never>((_, reject) => (failTrial = reject));
    failed.catch(() => {}); // observed through the races below
    let stopping = false;
    let succeeded = false;
    const timer = setTimeout(
      () => failTrial(new TrialError(`timed out after ${Math.round(this.timeoutMs / 1000)}s`, "timeout")),
      this.timeoutMs,
    );
    const onAbort = () => failTrial(new TrialError("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });

    const everyWorker = messagesOf(pool, failed);

    try {
      if (signal?.aborted) throw new TrialError("aborted");
      const script = workerScriptPath();
      // Only a configuration that places its workers changes what they see: with one GPU, or
      // without the parameter, the environment stays the user's.
      const placed = this.options.gpuIndices?.length && settings.gpuLayers > 0 && config[GPUS_PER_WORKER] !== undefined;
      const devices = placed ? workerDevices(config, this.options.gpuIndices!) : [];
      for (let index = 0; index < workers; index++) {
        pool.push(this.spawnWorker(index, script, settings, { failTrial, stopping: () => stopping, oomBefore }, devices[index]));
      }

      this.options.onProgress?.(0, 2 + plan.reps);
      const ready = await everyWorker("ready");
      memory.add(ready.map((m) => m.memory));
      const reps: RepResult[][] = [];
      for (let rep = 0; rep <= plan.reps || this.wantsMore(reps, fidelity); rep++) {
        this.options.onProgress?.(1 + rep, 2 + Math.max(plan.reps, rep));
        const genTokens = rep === 0 ? Math.min(WARMUP_TOKENS, plan.genTokens) : plan.genTokens;
        const go: ParentMessage = rep === 0 ? { type: "go", rep, genTokens, promptTokens: Math.min(WARMUP_PROMPT_TOKENS, this.promptTokens) } : { type: "go", rep, genTokens };
        // The barrier: no worker starts a repetition before every one has finished the last.
        // A worker that died cannot take the message; its exit handler fails the trial with the reason.
        await Promise.race([Promise.all(pool.map((w) => sendIfConnected(w, go))), failed]);
        const results = (await everyWorker("result")).map((m) => m.result);
        memory.add(results.map((r) => r.memory));
        for (const r of results) {
          if (r.generated.some((g) => g !== genTokens)) {
            throw new TrialError(`a sequence generated ${r.generated.join("/")} tokens instead of ${genTokens}`);
          }
        }
        if (rep > 0) reps.push(results);
      }
      this.options.onProgress?.(2 + reps.length, 2 + reps.length);
      succeeded = true;
      return this.summarizeTrial(reps, ready, memory, fidelity, performance.now() - started);
    } catch (err) {
      if (!(err instanceof TrialError)) throw err;
      const metrics: Metrics = { ...memory.metrics() };
      const tails = pool.map((w) => w.output.trim()).filter(Boolean);
      const tail = tails.length > 0 ? `\n${outputTail(tails.join("\n"), 1500)}` : "";
      return fail(err.status, `${err.message}${tail}`, metrics);
    } finally {
      stopping = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // A worker that just failed or hung is not worth waiting for; a healthy one exits at once.
      await this.stopWorkers(pool, succeeded ? 3000 : 200);
    }
  }

  /** The workers and their settings for a configuration; a TrialError when it cannot run. */
  private workerSettings(config: Config, plan: { genTokens: number }): { workers: number; settings: WorkerSettings } {
    const workers = positiveInt(config, "workers", 1);
    const settings: WorkerSettings = {
      modelPath: this.modelFor(config),
      threads: positiveInt(config, "threads", availableParallelism()),
      sequences: positiveInt(config, "sequences", 1),
      batch: config.batch === undefined ? undefined : positiveInt(config, "batch", 512),
      gpuLayers: Number(config.gpuLayers ?? 0),
      promptTokens: this.promptTokens,
      maxGenTokens: plan.genTokens,
      dispatch: this.options.dispatch ?? "lockstep",
      flashAttention: this.options.flashAttention,
    };
    return { workers, settings };
  }

  /**
   * Starts one worker process, seeing only the GPUs in `devices` when given; its exit, unless the
   * trial is stopping, fails the trial with the reason.
   */
  private spawnWorker(index: number, script: string, settings: WorkerSettings, trial: TrialHooks, devices?: string): Worker {
    const env: Record<string, string | undefined> = { ...process.env, UV_THREADPOOL_SIZE: String(this.threadPoolSize) };
    // nvidia-smi numbers GPUs in PCI bus order; CUDA's own default order is fastest first.
    if (devices !== undefined) Object.assign(env, { CUDA_VISIBLE_DEVICES: devices, CUDA_DEVICE_ORDER: "PCI_BUS_ID" });
    const options: WorkerProcessOptions = { ipc: true, serialization: "json", all: true, reject: false, stdin: "ignore", env };
    const nodeArgs = this.options.nodeArgs ?? (process.env.PARATUNE_WORKER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
    const child = execa(process.execPath, [...nodeArgs, script, JSON.stringify(settings)], options);
    const w: Worker = { index, process: child, pid: child.pid ?? -1, inbox: [], wake: null, output: "", exited: false };
    this.live.add(w.pid);
    child.all?.on("data", (chunk: Buffer) => {
      w.output = (w.output + chunk.toString()).slice(-16_000);
    });
    void (async () => {
      for await (const m of child.getEachMessage()) {
        w.inbox.push(m as unknown as WorkerMessage);
        w.wake?.();
      }
    })().catch(() => {});
    void child.then((result) => {
      w.exited = true;
      this.live.delete(w.pid);
      if (trial.stopping()) return;
      // Give an "error" message sent just before the exit the chance to explain it.
      setTimeout(() => trial.failTrial(this.exitError(w, result.exitCode, result.signal, trial.oomBefore)), 100);
    });
    return w;
  }

  /**
   * Whether a full trial should time another repetition: its decode rate's margin of error is
   * still above the target and the cap is not reached. Short trials stay short; they only rank.
   */
  private wantsMore(reps: RepResult[][], fidelity: Fidelity): boolean {
    // One repetition asked for is one given: a margin needs two samples to start from.
    if (fidelity.level < 1 || fidelity.extendReps === false || this.reps < 2) return false;
    if (reps.length >= this.maxReps || reps.length < this.reps) return false;
    return summarize(reps.map(decodeRate)).rme > this.targetRme;
  }

  private exitError(w: Worker, code: number | undefined, sig: string | undefined, oomBefore: number | null): TrialError {
    if (sig === "SIGKILL") {
      const after = oomKillCount();
      // Only the kernel's counter tells an OOM kill from any other SIGKILL; without it the cause
      // is unknown, and the trial is a plain failure rather than a memory cliff for the tuner.
      if (oomBefore === null || after === null) {
        return new TrialError(`worker ${w.index} was killed by SIGKILL (cause unknown: the cgroup's OOM-kill counter could not be read, so it may or may not have run out of memory)`);
      }
      const oom = after > oomBefore;
      return new TrialError(`worker ${w.index} was killed by SIGKILL${oom ? " (out of memory)" : ""}`, oom ? "oom" : "failed");
    }
    return new TrialError(`worker ${w.index} ${sig ? `crashed with ${sig}` : `exited with code ${code}`} before the trial ended`);
  }

  /** Asks workers to exit, then makes sure: whatever is still alive after a short grace is killed. */
  private async stopWorkers(pool: Worker[], graceMs: number): Promise<void> {
    await Promise.all(
      pool.map(async (w) => {
        if (!w.exited) {
          await sendIfConnected(w, { type: "exit" });
          await Promise.race([w.process, new Promise((r) => setTimeout(r, graceMs))]);
        }
        if (!w.exited || processTree(w.pid).length > 0) await killTree(w.pid, 1000, false);
        await Promise.race([w.process, new Promise((r) => setTimeout(r, 2000))]);
        this.live.delete(w.pid);
      }),
    );
  }

  private summarizeTrial(
    reps: RepResult[][],
    ready: Extract<WorkerMessage, { type: "ready" }>[],
    memory: MemoryPeaks,
    fidelity: Fidelity,
    durationMs: number,
  ): Measurement {
    const decode: number[] = [];
    const prefill: number[] = [];
    const ttft: number[] = [];
    const latency: number[] = [];
    const tpot: number[] = [];
    for (const results of reps) {
      decode.push(decodeRate(results));
      const promptTokens = results.reduce((s, r) => s + r.promptTokens, 0);
      const prefillMs = Math.max(...results.map((r) => r.prefillEndAt)) - Math.min(...results.map((r) => r.startedAt));
      prefill.push(promptTokens / (prefillMs / 1000));
      for (const r of results) {
        ttft.push(...r.ttftMs);
        latency.push(...r.latencyMs);
        // Time per output token of each sequence: its decode time over the tokens after the first.
        r.latencyMs.forEach((l, i) => {
          if (r.generated[i] > 1) tpot.push((l - r.ttftMs[i]) / (r.generated[i] - 1));
        });
      }
    }
    const { mean, rme } = summarize(decode);
    const metrics: Metrics = {
      decodeTps: mean,
      prefillTps: summarize(prefill).mean,
      ttftP50Ms: percentile(ttft, 0.5),
      ttftP95Ms: percentile(ttft, 0.95),
      latencyP50Ms: percentile(latency, 0.5),
      latencyP95Ms: percentile(latency, 0.95),
      tpotP50Ms: percentile(tpot, 0.5),
      tpotP95Ms: percentile(tpot, 0.95),
      loadMs: Math.max(...ready.map((r) => r.loadMs)),
      contextMs: Math.max(...ready.map((r) => r.contextMs)),
    };
    Object.assign(metrics, memory.metrics());
    const profiles = reps.flat().flatMap((r) => (r.profile ? [r.profile] : []));
    if (profiles.length > 0) {
      const sum = (f: (p: (typeof profiles)[number]) => number) => profiles.reduce((s, p) => s + f(p), 0);
      Object.assign(metrics, {
        profileDecodeCalls: sum((p) => p.decodeCalls),
        profileDecodeMs: sum((p) => p.decodeMs),
        profileSampleCalls: sum((p) => p.sampleCalls),
        profileSampleMs: sum((p) => p.sampleMs),
        profileWallMs: reps.flat().reduce((s, r) => s + (r.endedAt - r.startedAt), 0),
        profileCpuMs: sum((p) => p.cpuMs ?? 0),
        profileInvoluntarySwitches: sum((p) => p.involuntarySwitches ?? 0),
      });
      // Long-lived threads by kind: profileJsRunMs, profileLibuvWaitMs, profileV8RunMs, ...
      for (const kind of new Set(profiles.flatMap((p) => Object.keys(p.threads ?? {})))) {
        const title = kind[0].toUpperCase() + kind.slice(1);
        metrics[`profile${title}RunMs`] = sum((p) => p.threads?.[kind]?.runMs ?? 0);
        metrics[`profile${title}WaitMs`] = sum((p) => p.threads?.[kind]?.waitMs ?? 0);
      }
      // And by rank, busiest first: profileThread1RunMs is the busiest long-lived thread's, ...
      const ranks = Math.max(0, ...profiles.map((p) => p.ranked?.length ?? 0));
      for (let r = 0; r < Math.min(ranks, 8); r++) {
        metrics[`profileThread${r + 1}RunMs`] = sum((p) => p.ranked?.[r]?.runMs ?? 0);
        metrics[`profileThread${r + 1}WaitMs`] = sum((p) => p.ranked?.[r]?.waitMs ?? 0);
      }
    }
    const vram = ready.reduce((s, r) => Math.max(s, r.vramBytes), 0);
    if (vram > 0) metrics.vramBytes = vram;
    metrics.gpuLayersOffloaded = Math.min(...ready.map((r) => r.gpuLayers ?? 0));
    const backend = [...new Set(ready.map((r) => r.backend ?? "cpu"))].join("+");
    return { status: "ok", metrics, primary: "decodeTps", samples: decode, warmup: 1, rme, durationMs, fidelity, backend };
  }

  /** Pids of the workers running now (for tests and progress displays). */
  get workerPids(): number[] {
    return [...this.live];
  }

  /** Kills whatever worker is still running (a study interrupted mid-trial). */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((pid) => killTree(pid, 500, false)));
    this.live.clear();
  }
}
