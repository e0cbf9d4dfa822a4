// The search space of a llama tuning run, built from what the probe found and what the model
// files are. Parameters span what could make sense; constraints remove what this machine cannot
// run, each with a reason the report can quote, so that no trial is spent discovering an OOM.

import type { Config, Constraint, HardwareProfile, ModelInfo, Param, SearchSpace } from "../types.js";
import { formatBytes } from "../cli/format.js";

export interface SpaceOptions {
  /** Allow workers x threads above the usable cores (off by default: it only ever loses). */
  oversubscribe?: boolean;
  /** Largest number of parallel sequences per worker (powers of two up to it). */
  maxSequences?: number;
  /** Batch sizes (tokens per llama_decode call) to try. */
  batchSizes?: number[];
  /** Context tokens each sequence holds: its KV cache is sized for this many tokens. */
  contextPerSequence: number;
  /** Memory a worker process needs besides weights and KV cache; default `workerOverheadBytes`. */
  workerOverheadBytes?: number;
}

/**
 * Memory a worker process needs besides weights and KV cache. Measured (docs/tuning.md): a
 * worker of the 4M-parameter tiny model peaks at 167 MB RSS, one of qwen2.5-0.5b (349 MB file)
 * at 773 MB; the difference is mostly llama.cpp's logits buffer, n_vocab x n_batch floats (311 MB
 * for a 151936-token vocabulary at batch 512). So: a fixed part for Node.js, node-llama-cpp and
 * the llama.cpp runtime, the logits buffer, and activations of a batch (a few hidden-size
 * vectors per token), rounded up.
 */
export function workerOverheadBytes(model: ModelInfo, batch: number): number {
  const runtime = 160 * 2 ** 20;
  const logits = model.vocabSize * batch * 4;
  const activations = 8 * model.embeddingLength * batch * 4;
  return runtime + logits + activations;
}

/** node-llama-cpp's batch size when the configuration does not set one. */
export const DEFAULT_BATCH = 512;

/** Part of available memory we plan to use: the rest is headroom for the OS and page cache churn. */
export const MEMORY_HEADROOM = 0.85;

/** CPUs the tuner may plan with: the cgroup/affinity limit, rounded down, at least one. */
export function usableCores(hw: HardwareProfile): number {
  return Math.max(1, Math.floor(hw.limits.cpus + 1e-9));
}

/** Bytes the tuning run may plan to use: available memory, capped by a cgroup limit. */
export function usableMemoryBytes(hw: HardwareProfile): number {
  const limit = hw.limits.memoryBytes ?? Number.POSITIVE_INFINITY;
  return Math.floor(Math.min(hw.memory.availableBytes, limit) * MEMORY_HEADROOM);
}

/**
 * Memory a configuration needs. The weights count once, not once per worker: every worker maps
 * the same GGUF file with mmap, so the pages are shared through the page cache. We still count
 * the whole file as resident (conservative: decode touches every weight each token, so all of it
 * is hot anyway). KV cache and overhead are private to each worker and count per worker.
 */
export function memoryNeed(config: Config, model: ModelInfo, opts: SpaceOptions): number {
  const workers = Number(config.workers ?? 1);
  const sequences = Number(config.sequences ?? 1);
  const overhead = opts.workerOverheadBytes ?? workerOverheadBytes(model, Number(config.batch ?? DEFAULT_BATCH));
  const kv = sequences * opts.contextPerSequence * model.kvBytesPerToken;
  return model.fileBytes + workers * (overhead + kv);
}

export function buildLlamaSpace(hw: HardwareProfile, models: ModelInfo[], opts: SpaceOptions): SearchSpace {
  if (models.length === 0) throw new Error("buildLlamaSpace needs at least one model");
  const cores = usableCores(hw);
  const maxSequences = Math.max(1, opts.maxSequences ?? 8);
  const params: Param[] = [
    // Powers of two plus the core count itself: the throughput curve bends at fractions of the
    // core count, and the extremes (1 and all) are where the baseline and the usual answer sit.
    { name: "workers", kind: "int", min: 1, max: cores, log: true },
    { name: "threads", kind: "int", min: 1, max: cores, log: true },
    { name: "sequences", kind: "int", min: 1, max: maxSequences, log: true },
  ];
  const batches = [...new Set(opts.batchSizes ?? [512])].sort((a, b) => a - b);
  if (batches.length > 1) params.push({ name: "batch", kind: "ordinal", values: batches });
  params.push({ name: "quant", kind: "categorical", values: models.map((m) => m.quant) });

  const constraints: Constraint[] = [];
  if (!opts.oversubscribe) {
    constraints.push({
      name: "cores",
      check(c) {
        const total = Number(c.workers) * Number(c.threads);
        return total > cores
          ? `${c.workers} workers x ${c.threads} threads = ${total} threads exceeds ${cores} usable cores (${hw.limits.cpuSource}); pass --oversubscribe to allow`
          : null;
      },
    });
  }
  const budget = usableMemoryBytes(hw);
  const byQuant = new Map(models.map((m) => [m.quant, m]));
  constraints.push({
    name: "memory",
    check(c) {
      const model = byQuant.get(String(c.quant)) ?? models[0];
      const need = memoryNeed(c, model, opts);
      return need > budget
        ? `needs ${formatBytes(need)} (${model.quant} weights ${formatBytes(model.fileBytes)} + ${c.workers} workers x (${c.sequences} sequences x ${opts.contextPerSequence} tokens KV cache + overhead)) but ${formatBytes(budget)} is usable`
        : null;
    },
  });
  return { params, constraints };
}

/**
 * The configuration every speedup is measured against: what a user gets by running one
 * llama.cpp process with default settings: one worker, all usable cores, one sequence. It uses
 * the first quantization given (the user's own file, or the first synthesized variant).
 */
export function llamaBaseline(space: SearchSpace, hw: HardwareProfile): Config {
  const config: Config = {};
  for (const p of space.params) {
    if (p.name === "workers" || p.name === "sequences") config[p.name] = 1;
    else if (p.name === "threads") config[p.name] = usableCores(hw);
    else if (p.kind === "categorical") config[p.name] = p.values[0];
    else if (p.kind === "ordinal") config[p.name] = p.name === "batch" ? Math.max(...p.values) : p.values[0];
    else config[p.name] = p.min;
  }
  return config;
}

/** For the command workload the baseline is the first value of every parameter, as the user listed them. */
export function firstValuesBaseline(space: SearchSpace): Config {
  const config: Config = {};
  for (const p of space.params) config[p.name] = p.kind === "int" ? p.min : p.values[0];
  return config;
}
