// The search space of a llama tuning run, built from what the probe found and what the model
// files are. Parameters span what could make sense; constraints remove what this machine cannot
// run, each with a reason the report can quote, so that no trial is spent discovering an OOM.

import type { Config, Constraint, HardwareProfile, ModelInfo, Param, SearchSpace } from "../types.js";
import { formatBytes } from "../format.js";
import { GPUS_PER_WORKER, gpusPerWorker, gpusPerWorkerValues, workersPerGroup } from "../gpu-placement.js";
import { VRAM_HEADROOM, type VramEstimator } from "./vram.js";

export interface SpaceOptions {
  /** Allow workers x threads above the usable cores (off by default: it only ever loses). */
  oversubscribe?: boolean;
  /**
   * Largest number of parallel sequences per worker the run may reach (powers of two up to it).
   * The space starts lower (`initialSequences`) and grows toward this while the best
   * configurations sit on the edge (src/tune/space-growth.ts). Default and ceiling:
   * MAX_SEQUENCES_PER_WORKER.
   */
  maxSequences?: number;
  /** GPU offload, when node-llama-cpp can use a GPU here (see `gpuSpaceOptions`). */
  gpu?: GpuSpaceOptions;
  /** Batch sizes (tokens per llama_decode call) to try; default DEFAULT_BATCH_SIZES. One value fixes it. */
  batchSizes?: number[];
  /** Context tokens each sequence holds: its KV cache is sized for this many tokens. */
  contextPerSequence: number;
  /** Memory a worker process needs besides weights and KV cache; default `workerOverheadBytes`. */
  workerOverheadBytes?: number;
}

/**
 * Memory a worker process needs besides weights and KV cache: Node.js, node-llama-cpp and the
 * llama.cpp runtime (a fixed part), output-side buffers that grow with the vocabulary, and
 * activations of one batch. Fitted, rounded up, to peak RSS of real workers (docs/tuning.md):
 * 164 MB beyond the file for the tiny model, 193 MB (q8_0) and 214 MB (f16) for qwen2.5-0.5b,
 * and 45 MB more at batch 512 than at 128 with 8 sequences. llama.cpp caps the batch at the
 * context size, so a one-sequence worker never holds a full batch.
 */
export function workerOverheadBytes(model: ModelInfo, batch: number, contextTokens = Number.POSITIVE_INFINITY): number {
  const runtime = 168 * 1e6;
  const vocabBuffers = model.vocabSize * 4 * 64;
  const activations = 32 * model.embeddingLength * Math.min(batch, contextTokens) * 4;
  return runtime + vocabBuffers + activations;
}

/**
 * Quantizations whose weights llama.cpp's CPU backend repacks at load into an interleaved layout
 * for its SIMD kernels (q4_0 and q4_K as 8x8 blocks on AVX2 and NEON, iq4_nl): the repacked copy
 * lives in each worker's private memory, so these weights count once per worker. Measured:
 * qwen2.5-0.5b q4_0 peaks at 424 MB beyond its 349 MB file, q8_0 at 193 MB beyond its 528 MB.
 */
export function repacksWeights(quant: string): boolean {
  const q = quant.toLowerCase();
  return q === "q4_0" || q.startsWith("q4_k") || q === "iq4_nl";
}

/** node-llama-cpp's batch size when the configuration does not set one. */
export const DEFAULT_BATCH = 512;

/**
 * Batch sizes tried by default. Decode hardly depends on it (a step is one token per sequence);
 * prefill and the activation buffers do. 512 is node-llama-cpp's default and the baseline's.
 */
export const DEFAULT_BATCH_SIZES = [128, 512];

/**
 * llama.cpp's limit on parallel sequences in one context (LLAMA_MAX_SEQ): a context asked for
 * more fails with "n_seq_max must be <= 256".
 */
export const MAX_SEQUENCES_PER_WORKER = 256;

/**
 * Where the sequences range starts: far enough for the CPU's usual answer (a few to a few tens of
 * sequences per worker) and for a GPU's first look at batching, close enough that the first trials
 * are not spent at the extremes; the range grows when the best sit on its edge.
 */
export function initialSequences(gpu: boolean): number {
  return gpu ? 64 : 16;
}

export interface GpuSpaceOptions {
  /** Layers node-llama-cpp counts for offloading (repeating layers + the output layer). */
  totalLayers: number;
  /** nvidia-smi indices of the GPUs the workers are placed on (every GPU of the machine). */
  gpuIndices: number[];
  /** Free VRAM of the emptiest of those GPUs, at tuning time. */
  freeVramBytes: number;
  vram: VramEstimator;
}

/** gpuLayers values tried: none (CPU), half, all. Partial offload is where VRAM runs short. */
export function gpuLayerValues(totalLayers: number): number[] {
  return [...new Set([0, Math.ceil(totalLayers / 2), totalLayers])];
}

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
 * Memory a configuration needs. The file counts once, not once per worker: every worker maps the
 * same GGUF with mmap, so its pages are shared through the page cache; we count all of it as
 * resident (decode touches every weight each token, so all of it is hot). What is private to a
 * worker counts per worker: KV cache, overhead, and for quantizations llama.cpp repacks, a second
 * copy of the weights (conservatively all of them; the token embedding is not repacked).
 */
export function memoryNeed(config: Config, model: ModelInfo, opts: SpaceOptions): number {
  const workers = Number(config.workers ?? 1);
  const sequences = Number(config.sequences ?? 1);
  const context = sequences * opts.contextPerSequence;
  const overhead = opts.workerOverheadBytes ?? workerOverheadBytes(model, Number(config.batch ?? DEFAULT_BATCH), context);
  const kv = context * model.kvBytesPerToken;
  // Offloaded layers live in VRAM: their weights are neither repacked nor kept per worker, and
  // their KV cache is on the GPU.
  const cpuShare = 1 - Math.min(1, Number(config.gpuLayers ?? 0) / Math.max(1, model.layers + 1));
  const repacked = repacksWeights(model.quant) ? model.weightBytes * cpuShare : 0;
  return model.fileBytes + workers * (overhead + kv * cpuShare + repacked);
}

export function buildLlamaSpace(hw: HardwareProfile, models: ModelInfo[], opts: SpaceOptions): SearchSpace {
  if (models.length === 0) throw new Error("buildLlamaSpace needs at least one model");
  const cores = usableCores(hw);
  const maxSequences = Math.min(MAX_SEQUENCES_PER_WORKER, Math.max(1, opts.maxSequences ?? MAX_SEQUENCES_PER_WORKER));
  const startSequences = Math.min(maxSequences, initialSequences(opts.gpu !== undefined));
  const params: Param[] = [
    // Powers of two plus the core count itself: the throughput curve bends at fractions of the
    // core count, and the extremes (1 and all) are where the baseline and the usual answer sit.
    { name: "workers", kind: "int", min: 1, max: cores, log: true },
    { name: "threads", kind: "int", min: 1, max: cores, log: true },
    { name: "sequences", kind: "int", min: 1, max: startSequences, log: true },
  ];
  if (opts.gpu) params.push({ name: "gpuLayers", kind: "ordinal", values: gpuLayerValues(opts.gpu.totalLayers) });
  if (opts.gpu && opts.gpu.gpuIndices.length > 1) params.push({ name: GPUS_PER_WORKER, kind: "ordinal", values: gpusPerWorkerValues(opts.gpu.gpuIndices.length) });
  const batches = [...new Set(opts.batchSizes ?? DEFAULT_BATCH_SIZES)].sort((a, b) => a - b);
  // A batch the user fixed stays in the space as one value: the trials and the .env need it.
  if (batches.length > 1 || opts.batchSizes) params.push({ name: "batch", kind: "ordinal", values: batches });
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
  if (opts.gpu) constraints.push(vramConstraint(opts.gpu));
  if (opts.gpu && opts.gpu.gpuIndices.length > 1) constraints.push(cpuOnlyPlacement());
  return { params, constraints };
}

/** Without offload the GPUs a worker sees make no difference: one value of them is enough. */
function cpuOnlyPlacement(): Constraint {
  return {
    name: "placement",
    check(c) {
      return Number(c.gpuLayers ?? 0) === 0 && c[GPUS_PER_WORKER] !== undefined && Number(c[GPUS_PER_WORKER]) !== 1
        ? `gpuLayers=0 runs on the CPU, so ${GPUS_PER_WORKER}=${c[GPUS_PER_WORKER]} is the same configuration as ${GPUS_PER_WORKER}=1`
        : null;
    },
  };
}

function vramConstraint(gpu: GpuSpaceOptions): Constraint {
  const usable = Math.floor(gpu.freeVramBytes * VRAM_HEADROOM);
  return {
    name: "vram",
    check(c) {
      const need = gpu.vram.need(c);
      if (need <= usable) return null;
      const w = gpu.vram.perWorker(c);
      const n = gpu.gpuIndices.length;
      const g = gpusPerWorker(c, n);
      const split = g > 1 ? `, weights and context split over ${g} GPUs` : "";
      const where = n > 1 ? " on its fullest GPU" : "";
      return `needs ${formatBytes(need)} of VRAM${where} (${workersPerGroup(c, n)} workers x (weights ${formatBytes(w.weights)} + KV cache and buffers ${formatBytes(w.context)} + runtime ${formatBytes(w.runtime)})${split}) but ${formatBytes(usable)} is free to use`;
    },
  };
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
    // With a GPU, node-llama-cpp offloads every layer that fits by default.
    else if (p.name === "gpuLayers" && p.kind === "ordinal") config[p.name] = Math.max(...p.values);
    // and a process that is not told otherwise sees every GPU.
    else if (p.name === GPUS_PER_WORKER && p.kind === "ordinal") config[p.name] = Math.max(...p.values);
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
