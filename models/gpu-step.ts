// The GPU part of a decode step. Offloaded layers stream their weights (once per step, however many
// sequences the step carries) and KV cache from the GPU's memory and do their matmuls there; the
// host still runs node-llama-cpp's per-step and per-sequence work (sampling, the JS round trip) on
// one CPU thread, during which the GPU waits for that worker. Workers sharing one GPU fill each
// other's host gaps, until the GPU itself is the bound: a step then takes every worker's GPU time.

export interface GpuStepParams {
  /** Share of the data-sheet bandwidth a decode step's matvecs reach. */
  bandwidthFraction: number;
  /** Effective matmul FLOP/s of the GPU for quantized weights at decode batch sizes. */
  flops: number;
  /** Kernel launch and synchronisation per offloaded layer per step, in seconds. */
  secondsPerLayer: number;
  /** Host work per step and per sequence when the layers are on the GPU, in seconds. */
  hostSecondsPerStep: number;
  hostSecondsPerSequence: number;
}

/**
 * Priors, from single trials of synthetic tinyllama-1.1b q4_0 fully offloaded on an H200
 * (docs/gpu.md): 1 worker x 1 sequence 719 tok/s (1.4 ms a step: host and launches), 1 x 64
 * 6,114 tok/s (10.5 ms: ~0.15 ms of host work per sequence), 4 x 256 18,089 tok/s (57 ms a step,
 * about four times one worker's GPU time: the GPU is the bound).
 */
export const DEFAULT_GPU_STEP_PARAMS: GpuStepParams = {
  bandwidthFraction: 0.6,
  flops: 60e12,
  secondsPerLayer: 2.5e-5,
  hostSecondsPerStep: 4e-4,
  hostSecondsPerSequence: 1.4e-4,
};

export interface GpuStepInput {
  /** Share of the layers offloaded, 0..1. */
  offload: number;
  /** Bytes the step streams (weights once per pass, plus the KV cache read). */
  bytes: number;
  /** FLOPs of the step's tokens (all its sequences). */
  flops: number;
  layers: number;
  sequences: number;
  workers: number;
  /** The GPU's data-sheet memory bandwidth, GB/s. */
  gbps: number;
}

export interface GpuStep {
  /** Time one worker's step keeps the GPU busy. */
  gpuSeconds: number;
  /** Host time per step of one worker (runs while the GPU waits for it). */
  hostSeconds: number;
}

export function gpuStep(x: GpuStepInput, p: GpuStepParams = DEFAULT_GPU_STEP_PARAMS): GpuStep {
  const memory = (x.offload * x.bytes) / (p.bandwidthFraction * x.gbps * 1e9);
  const compute = (x.offload * x.flops) / p.flops;
  const launches = x.offload * x.layers * p.secondsPerLayer;
  return {
    gpuSeconds: Math.max(memory, compute) + launches,
    hostSeconds: p.hostSecondsPerStep + p.hostSecondsPerSequence * x.sequences,
  };
}

/**
 * A worker's step with `workers` sharing the GPU: its own CPU part, host part and GPU part in turn,
 * unless the GPU is the bound, when a step takes every worker's GPU time.
 */
export function sharedStepSeconds(cpuSeconds: number, step: GpuStep, workers: number): number {
  return Math.max(cpuSeconds + step.hostSeconds + step.gpuSeconds, workers * step.gpuSeconds);
}
