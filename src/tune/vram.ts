// VRAM a llama configuration needs on its GPU, from node-llama-cpp's own estimates (GgufInsights)
// rather than a formula of ours: every worker process loads its own copy of the offloaded
// weights, its own KV cache and compute buffers, and its own CUDA context.

import type { GgufFileInfo, GgufInsights } from "node-llama-cpp";
import { gpusPerWorker, workersPerGroup } from "../gpu-placement.js";
import type { Config } from "../types.js";

/**
 * VRAM a process holds once the GPU backend is initialised, before any model: the CUDA context and
 * cuBLAS workspace. node-llama-cpp's estimates leave it out. Measured on an H200 with CUDA 13:
 * 527 MiB in use after getLlama() in a process that loaded nothing (docs/gpu.md); rounded up.
 */
export const GPU_CONTEXT_BYTES = 600 * 1024 * 1024;

/** Part of the free VRAM we plan to fill: the rest absorbs estimate error and other processes' growth. */
export const VRAM_HEADROOM = 0.9;

export interface VramEstimator {
  /**
   * Bytes of VRAM the configuration needs on its fullest GPU: the workers of the busiest group of
   * GPUs, each with its weights split over the group's GPUs and a CUDA runtime on each. The
   * context counts whole on every GPU of a group: the KV cache splits with the layers, but each
   * GPU gets compute buffers of its own (more than one copy when llama.cpp pipelines across
   * GPUs), which the CPU simulation does not show and no trial has measured yet.
   */
  need(config: Config): number;
  /** Bytes one worker needs, itemised for the constraint's message. */
  perWorker(config: Config): { weights: number; context: number; runtime: number };
}

/**
 * One worker's context memory (KV cache + compute buffers), in bytes, by quant and batch, then by
 * sequences (ascending). From llama.cpp's own allocation run without allocating
 * (GgufInsights.estimateContextResourceRequirementsV2), which matches the VRAM workers hold on an
 * H200 to within 1% (docs/gpu.md); node-llama-cpp's heuristic estimate reads up to 3.3x high,
 * enough to rule out configurations that fit.
 */
export type ContextTable = Map<string, [sequences: number, bytes: number][]>;

const tableKey = (quant: string, batch: number) => `${quant}|${batch}`;

/**
 * Simulates the context of every (quant, sequences, batch) the search may try, on node-llama-cpp's
 * CPU backend: it needs no GPU, so a plan for another machine's profile (and CI) reads the same
 * numbers as the tune on that machine, and it initialises no CUDA context in the tuning process.
 * With every layer offloaded the whole context sits on the GPU. Returns an empty table when the
 * CPU backend cannot be loaded; the estimator then uses the heuristic.
 */
export async function simulateContexts(
  headers: Map<string, GgufFileInfo>,
  contextPerSequence: number,
  sequences: readonly number[],
  batches: readonly number[],
): Promise<ContextTable> {
  const table: ContextTable = new Map();
  const { getLlama, GgufInsights, LlamaLogLevel } = await import("node-llama-cpp");
  let llama;
  try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  } catch {
    return table;
  }
  try {
    for (const [quant, info] of headers) {
      const insights = await GgufInsights.from(info, llama);
      for (const batch of batches) {
        const rows: [number, number][] = [];
        for (const s of [...new Set(sequences)].sort((a, b) => a - b)) {
          // An architecture the simulation cannot take leaves its entries to the heuristic.
          const r = await insights.estimateContextResourceRequirementsV2({ contextSize: contextPerSequence, modelGpuLayers: insights.totalLayers, batchSize: batch, sequences: s }).catch(() => null);
          if (r) rows.push([s, r.cpuRam + r.gpuVram]);
        }
        if (rows.length > 0) table.set(tableKey(quant, batch), rows);
      }
    }
  } finally {
    await llama.dispose();
  }
  return table;
}

/**
 * The simulated context for `sequences`, in a straight line between the two simulated numbers
 * around it: KV cache and compute buffers grow in proportion to the cells (the 8B model's read
 * 2.26, 4.26 and 6.26 GiB at 64, 128 and 192 sequences). None past the largest simulated.
 */
function simulatedContext(table: ContextTable, quant: string, batch: number, sequences: number): number | undefined {
  const rows = table.get(tableKey(quant, batch)) ?? [];
  const above = rows.findIndex(([s]) => s >= sequences);
  if (above < 0) return undefined;
  const [s1, b1] = rows[above];
  if (s1 === sequences || above === 0) return b1;
  const [s0, b0] = rows[above - 1];
  return b0 + ((b1 - b0) * (sequences - s0)) / (s1 - s0);
}

/**
 * An estimator over the model files of the search space, one GgufInsights per quant.
 * `contextPerSequence` is the cells each sequence gets (prompt + generated + slack); `defaultBatch`
 * the batch of a configuration that does not set one. A context found in `simulated` is used as
 * is with every layer offloaded, and in the heuristic's GPU share of it with some; one not found
 * falls back to the heuristic, which errs high.
 */
export function vramEstimator(
  insightsByQuant: Map<string, GgufInsights>,
  contextPerSequence: number,
  defaultBatch: number,
  simulated: ContextTable = new Map(),
  gpuCount = 1,
): VramEstimator {
  const cache = new Map<string, { weights: number; context: number; runtime: number }>();
  const perWorker = (config: Config) => {
    const quant = String(config.quant ?? [...insightsByQuant.keys()][0]);
    const insights = insightsByQuant.get(quant) ?? [...insightsByQuant.values()][0];
    const gpuLayers = Math.min(Number(config.gpuLayers ?? 0), insights.totalLayers);
    const sequences = Number(config.sequences ?? 1);
    const batch = Number(config.batch ?? defaultBatch);
    const key = `${quant}|${gpuLayers}|${sequences}|${batch}`;
    let hit = cache.get(key);
    if (!hit) {
      if (gpuLayers <= 0) hit = { weights: 0, context: 0, runtime: 0 };
      else {
        const weights = insights.estimateModelResourceRequirements({ gpuLayers, useMmap: true }).gpuVram;
        const heuristic = insights.estimateContextResourceRequirements({ contextSize: contextPerSequence, modelGpuLayers: gpuLayers, batchSize: batch, sequences });
        const whole = simulatedContext(simulated, quant, batch, sequences);
        const gpuShare = gpuLayers >= insights.totalLayers ? 1 : heuristic.gpuVram / (heuristic.gpuVram + heuristic.cpuRam);
        hit = { weights, context: whole === undefined ? heuristic.gpuVram : whole * gpuShare, runtime: GPU_CONTEXT_BYTES };
      }
      cache.set(key, hit);
    }
    return hit;
  };
  return {
    perWorker,
    need(config) {
      const w = perWorker(config);
      return workersPerGroup(config, gpuCount) * (w.weights / gpusPerWorker(config, gpuCount) + w.context + w.runtime);
    },
  };
}
