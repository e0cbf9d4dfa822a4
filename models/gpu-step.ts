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
  /** Host work per step when the layers are on the GPU, in seconds. */
  hostSecondsPerStep: number;
  /**
   * Host work per sequence and per vocabulary entry: sampling reads each sequence's row of
   * logits, as long as the vocabulary.
   */
  hostSecondsPerVocabEntry: number;
}

/**
 * Priors, from single trials of synthetic tinyllama-1.1b q4_0 fully offloaded on an H200
 * (docs/gpu.md): 1 worker x 1 sequence 719 tok/s (1.4 ms a step: host and launches), 1 x 64
 * 6,114 tok/s (10.5 ms: ~0.14 ms of host work per sequence with its 32,000-entry vocabulary),
 * 4 x 256 18,089 tok/s (57 ms a step, about four times one worker's GPU time: the GPU is the
 * bound). llama-3.1-8b, 128,256 entries: one worker with 256 sequences took 189 ms a step, about
 * 0.55 ms of host work per sequence, four times tinyllama's, as the vocabulary is.
 */
export const DEFAULT_GPU_STEP_PARAMS: GpuStepParams = {
  bandwidthFraction: 0.6,
  flops: 60e12,
  secondsPerLayer: 2.5e-5,
  hostSecondsPerStep: 4e-4,
  hostSecondsPerVocabEntry: 1.4e-4 / 32_000,
};

/** The vocabulary of a model file that does not state one: tinyllama's, where the priors come from. */
const REFERENCE_VOCAB = 32_000;

export interface GpuStepInput {
  /** Share of the layers offloaded, 0..1. */
  offload: number;
  /** Bytes the step streams (weights once per pass, plus the KV cache read). */
  bytes: number;
  /** FLOPs of the step's tokens (all its sequences). */
  flops: number;
  layers: number;
  sequences: number;
  /** Entries in the model's vocabulary (0 when not known). */
  vocabSize: number;
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
    hostSeconds: p.hostSecondsPerStep + p.hostSecondsPerVocabEntry * (x.vocabSize > 0 ? x.vocabSize : REFERENCE_VOCAB) * x.sequences,
  };
}

/**
 * A worker's step on GPUs it shares: its own CPU part, host part and GPU part in turn, unless the
 * GPUs are the bound, when a step takes every sharing worker's GPU time. `sharing` is the workers
 * on a group of GPUs over the GPUs in it: a worker split over g GPUs keeps each busy 1/g of its
 * GPU time (its layers run on one GPU after another), so k workers on g GPUs share as k/g.
 */
export function sharedStepSeconds(cpuSeconds: number, step: GpuStep, sharing: number): number {
  return Math.max(cpuSeconds + step.hostSeconds + step.gpuSeconds, sharing * step.gpuSeconds);
}
