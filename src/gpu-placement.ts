// Which GPUs each worker process sees on a machine with several: the `gpusPerWorker` parameter.
// A worker that sees one GPU holds its whole offloaded model there; one that sees several splits
// its layers across them (llama.cpp's default "layer" split: node-llama-cpp exposes no other).
// The GPUs form groups of `gpusPerWorker`, and the workers are dealt to the groups in turn.

import type { Config } from "./types.js";

export const GPUS_PER_WORKER = "gpusPerWorker";

/** The group sizes that use every GPU evenly: the divisors of the GPU count. */
export function gpusPerWorkerValues(gpuCount: number): number[] {
  return Array.from({ length: gpuCount }, (_, i) => i + 1).filter((g) => gpuCount % g === 0);
}

/**
 * GPUs each worker of `config` sees. A configuration without the parameter leaves the workers'
 * view alone, and a process that is not told otherwise sees every GPU.
 */
export function gpusPerWorker(config: Config, gpuCount: number): number {
  const g = Math.round(Number(config[GPUS_PER_WORKER] ?? gpuCount));
  return Math.min(Math.max(1, Number.isFinite(g) ? g : gpuCount), Math.max(1, gpuCount));
}

/** Workers on the busiest group of GPUs. */
export function workersPerGroup(config: Config, gpuCount: number): number {
  const groups = Math.max(1, Math.floor(gpuCount / gpusPerWorker(config, gpuCount)));
  return Math.ceil(Number(config.workers ?? 1) / groups);
}

/**
 * Each worker's CUDA_VISIBLE_DEVICES, in worker order, from the GPUs' indices (nvidia-smi's order,
 * which is the PCI bus order: the workers are started with CUDA_DEVICE_ORDER=PCI_BUS_ID to match).
 */
export function workerDevices(config: Config, gpuIndices: readonly number[]): string[] {
  const n = gpuIndices.length;
  const g = gpusPerWorker(config, n);
  const groups = Math.max(1, Math.floor(n / g));
  return Array.from({ length: Number(config.workers ?? 1) }, (_, i) => {
    const group = i % groups;
    return gpuIndices.slice(group * g, group * g + g).join(",");
  });
}
