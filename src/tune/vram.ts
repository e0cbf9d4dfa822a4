// VRAM a llama configuration needs on its GPU, from node-llama-cpp's own estimates (GgufInsights)
// rather than a formula of ours: every worker process loads its own copy of the offloaded
// weights, its own KV cache and compute buffers, and its own CUDA context.

import type { GgufInsights } from "node-llama-cpp";
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
  /** Total bytes of VRAM the configuration needs on one GPU (all its workers). */
  need(config: Config): number;
  /** Bytes one worker needs, itemised for the constraint's message. */
  perWorker(config: Config): { weights: number; context: number; runtime: number };
}

/**
 * An estimator over the model files of the search space, one GgufInsights per quant.
 * `contextPerSequence` is the cells each sequence gets (prompt + generated + slack); `defaultBatch`
 * the batch of a configuration that does not set one.
 */
export function vramEstimator(insightsByQuant: Map<string, GgufInsights>, contextPerSequence: number, defaultBatch: number): VramEstimator {
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
        const context = insights.estimateContextResourceRequirements({
          contextSize: contextPerSequence,
          modelGpuLayers: gpuLayers,
          batchSize: batch,
          sequences,
        }).gpuVram;
        hit = { weights, context, runtime: GPU_CONTEXT_BYTES };
      }
      cache.set(key, hit);
    }
    return hit;
  };
  return {
    perWorker,
    need(config) {
      const w = perWorker(config);
      return Number(config.workers ?? 1) * (w.weights + w.context + w.runtime);
    },
  };
}
