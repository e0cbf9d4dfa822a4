// What a GPU adds to a llama search space: offload levels, the GPUs the workers are placed on, and
// the VRAM each configuration needs there. The tune and the trial-free prediction both build it.

import type { GgufFileInfo, GgufInsights } from "node-llama-cpp";
import { readGgufHeader } from "../model-info.js";
import type { HardwareProfile, ModelInfo } from "../types.js";
import { DEFAULT_BATCH, DEFAULT_BATCH_SIZES, MAX_SEQUENCES_PER_WORKER, type GpuSpaceOptions } from "./space-builder.js";
import { simulateContexts, vramEstimator } from "./vram.js";

export interface ContextOptions {
  /** Cells each sequence gets (prompt + generated + slack). */
  perSequence: number;
  /** The sequences ceiling the range may grow to (default llama.cpp's limit). */
  maxSequences?: number;
  batchSizes?: number[];
}

/**
 * GPU offload joins the space when the probe found a GPU that node-llama-cpp can use here (or,
 * for a saved profile of another machine, one it did not rule out). The workers are placed on
 * every GPU (src/gpu-placement.ts), so the emptiest one bounds what fits.
 */
export async function gpuSpaceOptions(hardware: HardwareProfile, models: ModelInfo[], contexts: ContextOptions, note: (s: string) => void): Promise<GpuSpaceOptions | undefined> {
  if (hardware.gpus.length === 0) return undefined;
  if (hardware.gpuBackend && hardware.gpuBackend.backend === null) {
    note(`GPU found but not usable by node-llama-cpp here (${hardware.gpuBackend.reason ?? "no GPU backend loaded"}): tuning the CPU only`);
    return undefined;
  }
  const gpuIndices = hardware.gpus.map((g) => g.index).sort((a, b) => a - b);
  const freeVramBytes = Math.min(...hardware.gpus.map((g) => g.vramFreeBytes));
  const insights = new Map<string, GgufInsights>();
  const headers = new Map<string, GgufFileInfo>();
  for (const m of models) {
    const header = await readGgufHeader(m.path);
    insights.set(m.quant, header.insights);
    headers.set(m.quant, header.info);
  }
  // Sequences may grow up to the ceiling, so every power of two up to it and the ceiling itself are
  // simulated now (others are interpolated): the VRAM constraint is checked synchronously while
  // the search runs.
  const ceiling = Math.min(MAX_SEQUENCES_PER_WORKER, contexts.maxSequences ?? MAX_SEQUENCES_PER_WORKER);
  const simulated = await simulateContexts(headers, contexts.perSequence, [...powersOfTwoUpTo(ceiling), ceiling], contexts.batchSizes ?? DEFAULT_BATCH_SIZES);
  if (simulated.size === 0) note("node-llama-cpp's CPU backend did not load to simulate contexts: VRAM is estimated by its heuristic, which errs high");
  const totalLayers = Math.max(...[...insights.values()].map((i) => i.totalLayers));
  return { totalLayers, gpuIndices, freeVramBytes, vram: vramEstimator(insights, contexts.perSequence, DEFAULT_BATCH, simulated, gpuIndices.length) };
}

function powersOfTwoUpTo(max: number): number[] {
  const out: number[] = [];
  for (let v = 1; v <= max; v *= 2) out.push(v);
  return out;
}
