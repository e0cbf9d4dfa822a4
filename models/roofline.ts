// The roofline prior: decode throughput from first principles, before any trial has run.
//
// One decode step of one worker reads its weights once and the KV cache of every sequence it
// holds, and does ~2 x parameters FLOPs per sequence. So a step takes the longer of
//   memory time  = bytes read / (this worker's share of the machine's bandwidth)
//   compute time = FLOPs / (threads x FLOP/s per core)
// plus the cost of the threads synchronising at every layer. Workers share the memory bus, so the
// bandwidth a worker sees is the measured curve at the machine's total thread count divided by the
// number of workers; threads past the saturation point only add synchronisation. More runnable
// threads than usable cores collapses throughput (llama.cpp threads spin at barriers, and a
// descheduled thread stalls all the others for a scheduler time slice): modelled as a stall per
// layer, with a wide uncertainty.
//
// Host work per step and per sequence (graph setup, the native/JS round trip, sampling) runs on
// one thread whatever the thread count: Amdahl's serial part, the reason threads stop paying. The
// per-token compute cost depends on the batch rows of a pass (vector kernels for one row, tiled
// GEMM/AMX kernels for many): a curve, not a constant.
//
// None of the constants is known from the probe and the model file: the fraction of measured
// bandwidth a decode step streams at, the matmul FLOP/s of one core, the barrier and host costs,
// the kernel-regime curve, the busy slowdown, the oversubscription stall. Their priors are a fit
// to the Xeon-16 llama-batched-bench landscape (models/data/, see docs/models.md); `calibrate`
// fits them to the first trials of this machine in log space.

import { UserInputError } from "../src/errors.js";
import type { Config, HardwareProfile, ModelInfo, Observation, PerformanceModel, Prediction } from "../src/types.js";
import { deltaVariance, leastSquares } from "./least-squares.js";
import { gpuStep, sharedStepSeconds } from "./gpu-step.js";
import { gpusPerWorker, workersPerGroup } from "../src/gpu-placement.js";

export interface RooflineParams {
  /** Share of the probed bandwidth that a decode step streams at (llama.cpp reads are not a STREAM loop). */
  bandwidthFraction: number;
  /** Matmul FLOP/s of one physical core for a q4_0 model (other quants scale by `quantComputeFactor`). */
  flopsPerCore: number;
  /** Barrier cost per layer per extra thread of one worker, in seconds. */
  syncSecondsPerLayerThread: number;
  /** Stall per layer per step for a worker of 8 threads when threads exceed usable cores 2:1, in seconds. */
  oversubscribedSecondsPerLayer: number;
  /**
   * Host work per decode step that the worker's threads do not share: graph setup, the native/JS
   * round trip, waking the thread pool. Amdahl's serial part: it is why threads stop paying.
   */
  hostSecondsPerStep?: number;
  /**
   * Host work per sequence per step that does not shrink with threads (sampling over the
   * vocabulary). When not given, its prior scales with the model's vocabulary: see
   * `priorHostSecondsPerSequence`.
   */
  hostSecondsPerSequence?: number;
  /** Compute slowdown with every usable core busy relative to one busy core (shared clocks, caches). */
  busySlowdown?: number;
  /** Cost of one pass over the weights (unpacking quantized blocks) in FLOP equivalents per parameter. */
  weightPassFlopsPerParam?: number;
  /**
   * The kernel regime: compute cost of one token when a pass carries 4 / 16 rows (sequences),
   * relative to one row. llama.cpp's CPU matmuls switch from vector to tiled (GEMM, repacked,
   * AMX) kernels as the rows grow, so the per-token cost is a curve in the batch rows, not a
   * constant; between and past these points it is interpolated in log rows (flat past 16).
   */
  tokenCostAt4Rows?: number;
  tokenCostAt16Rows?: number;
  /**
   * Per-quant factor on `quantComputeFactor` (how this machine's kernel for that quant compares
   * to the table), learned from trials of that quant; 1 where not given.
   */
  quantFactors?: Record<string, number>;
}

/**
 * Priors: the form fitted to all 51 configurations of the Xeon-16 llama-batched-bench landscape
 * (models/data/xeon16-tinyllama-q4_0.jsonl), rounded; the stall from that landscape's and the
 * reference measurements' oversubscribed points (models/roofline.test.ts). docs/models.md shows the arithmetic. `hostSecondsPerSequence`
 * here is llama-batched-bench's, which samples nothing; the roofline's prior for paratune's
 * node-llama-cpp trials is `priorHostSecondsPerSequence` unless the caller sets it.
 */
export const DEFAULT_ROOFLINE_PARAMS: Required<RooflineParams> = {
  bandwidthFraction: 0.85,
  flopsPerCore: 88e9,
  syncSecondsPerLayerThread: 6e-6,
  oversubscribedSecondsPerLayer: 0.09,
  hostSecondsPerStep: 3e-3,
  hostSecondsPerSequence: 1.5e-5,
  busySlowdown: 0.22,
  weightPassFlopsPerParam: 6,
  tokenCostAt4Rows: 0.8,
  tokenCostAt16Rows: 0.95,
  quantFactors: {},
};

/**
 * node-llama-cpp's host work per sequence per step, in seconds: a fixed part (the sequence's JS
 * round trip and its sampler job) and a part per vocabulary entry (the job walks the sequence's
 * logits row). The roofline calibrated on all of each landscape put the whole at 0.27 ms for a
 * 2k vocabulary (tiny-1thread-2core, the 2-core VM), 0.47-0.51 ms for 32k (both h100host-tinyllama
 * recordings) and 1.28 ms for 152k (h100host-qwen05b-p1): 0.25 ms + 7 ns per entry fits all three
 * within 7%. llama-batched-bench samples nothing: 15-27 us there (DEFAULT_ROOFLINE_PARAMS).
 * docs/models.md shows the fits.
 */
const NLC_HOST_SECONDS_PER_SEQUENCE = 2.5e-4;
const HOST_SECONDS_PER_VOCAB_ENTRY = 7e-9;

/**
 * The prior of `hostSecondsPerSequence` for paratune's own trials (node-llama-cpp) of these model
 * files: the largest vocabulary among them counts (the quants of one model share a tokenizer). A
 * model file that does not state its vocabulary gets the fixed part only. It is the prior for
 * every trial, llama-batched-bench landscapes included, where it is ~20x too high and the
 * calibration has to bring it down.
 */
export function priorHostSecondsPerSequence(models: ModelInfo[]): number {
  const vocab = Math.max(0, ...models.map((m) => (Number.isFinite(m.vocabSize) ? m.vocabSize : 0)));
  return NLC_HOST_SECONDS_PER_SEQUENCE + HOST_SECONDS_PER_VOCAB_ENTRY * vocab;
}

/** How far off an uncalibrated prediction may be, as a log-scale standard deviation. */
const PRIOR_LOG_SD = 0.35;
/** Oversubscribed configurations are a cliff whose depth varies a lot between machines. */
const OVERSUBSCRIBED_LOG_SD = 1.0;
/** The calibrated scalar parameters; the log-scale vector of a calibration holds them in this order. */
type ScalarParam = Exclude<keyof RooflineParams, "quantFactors">;
/**
 * Prior spread of each calibrated parameter on the log scale; every quant factor gets
 * `QUANT_FACTOR_PRIOR_LOG_SD`. The host terms are wide (a factor of ~7 per sd):
 * llama-batched-bench has almost none, node-llama-cpp several milliseconds.
 */
const PARAM_PRIOR_LOG_SD: Record<ScalarParam, number> = {
  bandwidthFraction: 0.5,
  flopsPerCore: 0.7,
  syncSecondsPerLayerThread: 1.0,
  oversubscribedSecondsPerLayer: 1.5,
  hostSecondsPerStep: 2.0,
  hostSecondsPerSequence: 2.0,
  busySlowdown: 1.0,
  weightPassFlopsPerParam: 1.0,
  tokenCostAt4Rows: 1.0,
  tokenCostAt16Rows: 1.0,
};
const SCALAR_PARAMS = Object.keys(PARAM_PRIOR_LOG_SD) as ScalarParam[];
const QUANT_FACTOR_PRIOR_LOG_SD = 0.5;
/** Upper bound of the calibrated bandwidth fraction. */
const MAX_BANDWIDTH_FRACTION = 1.2;
/** Never claim better than this, however well the first trials fit: trial noise is ~3-5%. */
const MIN_LOG_SD = 0.05;

/** Threads per worker at which `oversubscribedSecondsPerLayer` is stated. */
const OVERSUBSCRIPTION_REFERENCE_THREADS = 8;
/** Extra compute a second hardware thread on a busy core gives (SMT shares the execution units). */
const SMT_GAIN = 0.2;
/** Batch rows at which `tokenCostAt4Rows` and `tokenCostAt16Rows` are stated (1 row costs 1). */
const TOKEN_COST_KNOTS = [1, 4, 16];
/** Average tokens of context each sequence holds while decoding when the caller does not say. */
const DEFAULT_CONTEXT_TOKENS = 512;

/**
 * Matmul throughput of a quantization's CPU kernel relative to q4_0, per FLOP. Rough: k-quants and
 * the odd-bit formats unpack more per block; f16/f32 have no integer dot product to lean on.
 */
export function quantComputeFactor(quant: string): number {
  const q = quant.toLowerCase();
  if (q === "q4_0" || q === "q4_1") return 1;
  if (q === "q8_0") return 1.1;
  if (q.startsWith("q4_k") || q.startsWith("iq4")) return 0.85;
  if (q.startsWith("q5")) return 0.75;
  if (q.startsWith("q6") || q.startsWith("q3") || q.startsWith("q2")) return 0.7;
  if (q.startsWith("iq")) return 0.6;
  if (q === "f16" || q === "bf16") return 0.5;
  if (q === "f32") return 0.4;
  return 0.8;
}

/**
 * HBM/GDDR bandwidth of known GPUs in GB/s (vendor data sheets), used only for `gpuLayers`; an
 * unknown GPU gets a conservative 500 GB/s and a wider uncertainty.
 */
const GPU_BANDWIDTH_GBPS: [RegExp, number][] = [
  [/H200/i, 4800],
  [/H100.*(SXM|HBM3)/i, 3350],
  [/H100/i, 2000],
  [/A100.*80/i, 2039],
  [/A100/i, 1555],
  [/L40S?/i, 864],
  [/A10\b/i, 600],
  [/L4\b/i, 300],
  [/T4\b/i, 320],
  [/4090/i, 1008],
  [/3090/i, 936],
];
const UNKNOWN_GPU_GBPS = 500;

export function gpuBandwidthGbps(name: string): { gbps: number; known: boolean } {
  for (const [re, gbps] of GPU_BANDWIDTH_GBPS) if (re.test(name)) return { gbps, known: true };
  return { gbps: UNKNOWN_GPU_GBPS, known: false };
}

/** What the roofline needs to know about the machine, read from a HardwareProfile. */
interface Machine {
  usableCpus: number;
  physicalCores: number;
  /** Total bandwidth (GB/s) with n threads streaming, from the probed curve. */
  bandwidth(n: number): number;
  bandwidthKnown: boolean;
  gpuGbps: number;
  gpuKnown: boolean;
  gpuCount: number;
}

/** Without a bandwidth probe: a core streams ~8 GB/s and the bus saturates around 8 cores. */
const FALLBACK_GBPS_PER_THREAD = 8;
const FALLBACK_SATURATION_THREADS = 8;

function readMachine(hw: HardwareProfile): Machine {
  const usableCpus = Math.max(1, hw.limits.cpus || hw.cpu.logical);
  const allowed = new Set(hw.limits.allowedCpus.length > 0 ? hw.limits.allowedCpus : []);
  let physical = hw.cpu.physical || hw.cpu.logical;
  if (hw.cpu.smtSiblings.length > 0 && allowed.size > 0) {
    physical = hw.cpu.smtSiblings.filter((group) => group.some((c) => allowed.has(c))).length || physical;
  }
  const physicalCores = Math.max(1, Math.min(physical, Math.floor(usableCpus + 1e-9) || 1));
  const curve = (hw.bandwidth?.curve ?? []).filter((p) => p.threads > 0 && p.gbps > 0).sort((a, b) => a.threads - b.threads);
  const bandwidth =
    curve.length > 0
      ? (n: number) => interpolateCurve(curve, n)
      : (n: number) => FALLBACK_GBPS_PER_THREAD * Math.min(n, FALLBACK_SATURATION_THREADS);
  const gpu = hw.gpus[0];
  const g = gpu ? gpuBandwidthGbps(gpu.name) : { gbps: 0, known: false };
  return { usableCpus, physicalCores, bandwidth, bandwidthKnown: curve.length > 0, gpuGbps: g.gbps, gpuKnown: g.known, gpuCount: hw.gpus.length };
}

/** Linear between measured points, proportional below the first, flat past the last (saturated). */
function interpolateCurve(curve: { threads: number; gbps: number }[], n: number): number {
  if (n <= curve[0].threads) return (curve[0].gbps * n) / curve[0].threads;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1];
    const b = curve[i];
    if (n <= b.threads) return a.gbps + ((b.gbps - a.gbps) * (n - a.threads)) / (b.threads - a.threads);
  }
  return Math.max(...curve.map((p) => p.gbps));
}

/** The configuration's parallel shape, with defaults for keys the search space does not have. */
export interface Shape {
  workers: number;
  threads: number;
  sequences: number;
  batch: number;
  gpuLayers: number;
  quant: string | undefined;
}

export function readShape(config: Config, usableCpus: number): Shape {
  const num = (key: string, fallback: number): number => {
    const v = config[key];
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UserInputError(`config ${key}=${v} is not a number`, `give ${key} as a number`);
    return n;
  };
  const workers = Math.max(1, num("workers", 1));
  const threads = Math.max(1, num("threads", Math.max(1, Math.floor(usableCpus / workers))));
  const sequences = Math.max(1, num("sequences", 1));
  const batch = Math.max(1, num("batch", Number.POSITIVE_INFINITY));
  const gl = config.gpuLayers;
  const gpuLayers = gl === "max" || gl === "all" ? Number.POSITIVE_INFINITY : Math.max(0, num("gpuLayers", 0));
  const quant = config.quant === undefined ? undefined : String(config.quant);
  return { workers, threads, sequences, batch, gpuLayers, quant };
}

export interface RooflineOptions {
  hardware: HardwareProfile;
  /** The model file, or one per quantization variant (picked by the config's `quant`). */
  models: ModelInfo | ModelInfo[];
  /** Average context each sequence holds during decode (prompt + half the generated tokens). */
  contextTokens?: number;
  params?: Partial<RooflineParams>;
}

/** One step of the roofline, itemised so that tests and docs can see which bound binds. */
export interface RooflineBreakdown {
  tokensPerSecond: number;
  stepSeconds: number;
  memorySeconds: number;
  computeSeconds: number;
  /** Barriers between the worker's threads plus the host work no thread count shortens. */
  syncSeconds: number;
  /** The host part of `syncSeconds` (per step and per sequence): Amdahl's serial share. */
  hostSeconds: number;
  gpuSeconds: number;
  oversubscribed: boolean;
  bound: "memory" | "compute" | "oversubscribed" | "gpu" | "host";
}

/** The parameters with every optional field filled in (from the defaults). */
type FullParams = Required<RooflineParams>;

function complete(p: Partial<RooflineParams> | undefined, hostSecondsPerSequence: number): FullParams {
  const out = { ...DEFAULT_ROOFLINE_PARAMS, hostSecondsPerSequence, ...p };
  out.quantFactors = { ...(p?.quantFactors ?? {}) };
  return out;
}

/** Per-token compute cost at `rows` batch rows relative to one row: log-linear between the knots, flat outside. */
function tokenCost(rows: number, p: FullParams): number {
  const values = [1, p.tokenCostAt4Rows, p.tokenCostAt16Rows];
  const x = Math.log(Math.max(1, rows));
  const knots = TOKEN_COST_KNOTS.map(Math.log);
  if (x >= knots[knots.length - 1]) return values[values.length - 1];
  for (let i = 1; i < knots.length; i++) {
    if (x <= knots[i]) {
      const t = (x - knots[i - 1]) / (knots[i] - knots[i - 1]);
      return Math.exp((1 - t) * Math.log(values[i - 1]) + t * Math.log(values[i]));
    }
  }
  return values[values.length - 1];
}

export class RooflineModel implements PerformanceModel {
  readonly name = "roofline";
  private readonly machine: Machine;
  private readonly models: ModelInfo[];
  private readonly contextTokens: number;
  /** `priorHostSecondsPerSequence` of the model files, worked out once (breakdown runs per residual). */
  private readonly hostSecondsPerSequencePrior: number;
  private params: FullParams;
  private logSd = PRIOR_LOG_SD;
  private covariance: number[][] | null = null;
  private calibratedWith = 0;

  constructor(readonly options: RooflineOptions) {
    this.machine = readMachine(options.hardware);
    this.models = Array.isArray(options.models) ? options.models : [options.models];
    if (this.models.length === 0) throw new UserInputError("the roofline needs a model file", "pass --model <file.gguf>");
    this.contextTokens = options.contextTokens ?? DEFAULT_CONTEXT_TOKENS;
    this.hostSecondsPerSequencePrior = priorHostSecondsPerSequence(this.models);
    this.params = complete(options.params, this.hostSecondsPerSequencePrior);
  }

  /** The current (prior or calibrated) parameters. */
  get parameters(): FullParams {
    return { ...this.params, quantFactors: { ...this.params.quantFactors } };
  }

  /** Number of trials the parameters were calibrated on (0: the prior). */
  get observations(): number {
    return this.calibratedWith;
  }

  private modelFor(quant: string | undefined): ModelInfo {
    if (quant === undefined) return this.models[0];
    const m = this.models.find((x) => x.quant.toLowerCase() === quant.toLowerCase());
    if (!m) {
      throw new UserInputError(
        `no model file for quant ${quant}`,
        `the roofline has ${this.models.map((x) => x.quant).join(", ")}; pass a model file for each quant in the search space`,
      );
    }
    return m;
  }

  /** The step time, itemised, under parameters p (the calibrated ones when omitted). */
  breakdown(config: Config, params: Partial<RooflineParams> = this.params): RooflineBreakdown {
    const p = params === this.params ? this.params : complete(params, this.hostSecondsPerSequencePrior);
    const m = this.machine;
    const s = readShape(config, m.usableCpus);
    const model = this.modelFor(s.quant);
    const totalThreads = s.workers * s.threads;
    const oversubscribed = totalThreads > m.usableCpus + 1e-9;

    // Layers on the GPU stream from its memory; llama.cpp offloads the output layer as the
    // (layers+1)-th, which we fold into the fraction.
    const offload = m.gpuGbps > 0 ? Math.min(1, s.gpuLayers / Math.max(1, model.layers)) : 0;
    const cpuShare = 1 - offload;

    // A step of `batch` tokens reads the weights once; sequences beyond the batch need more passes.
    const passes = Math.ceil(s.sequences / Math.min(s.batch, s.sequences));
    const rows = s.sequences / passes;
    const kvBytes = s.sequences * this.contextTokens * model.kvBytesPerToken;
    const weightBytes = model.weightBytes * passes;

    const busThreads = Math.min(totalThreads, m.usableCpus);
    const workerGbps = (p.bandwidthFraction * m.bandwidth(busThreads)) / s.workers;
    const memorySeconds = (cpuShare * (weightBytes + kvBytes)) / (workerGbps * 1e9);

    // Threads past the physical cores share execution units: they add SMT_GAIN of a core each.
    const runnable = Math.min(totalThreads, m.usableCpus);
    const cores = Math.min(runnable, m.physicalCores) + SMT_GAIN * Math.max(0, runnable - m.physicalCores);
    const coresPerThread = cores / Math.max(totalThreads, 1);
    const flopsPerToken = 2 * model.parameterCount + 4 * model.layers * this.contextTokens * model.embeddingLength;
    // Unpacking the quantized weights is paid once per pass over them, however many sequences the
    // pass serves: that is why batching sequences helps even where memory is not the bound. The
    // per-token cost itself depends on the kernel the batch rows select (tokenCost).
    const weightPassFlops = passes * p.weightPassFlopsPerParam * model.parameterCount;
    const tokenFlops = s.sequences * flopsPerToken * tokenCost(rows, p);
    // All cores busy run slower than one (shared clocks and caches): ~20% on the 16-core Xeon.
    const busyFactor = 1 / (1 + (p.busySlowdown * (runnable - 1)) / Math.max(1, m.usableCpus - 1));
    const quantFactor = quantComputeFactor(model.quant) * (p.quantFactors[model.quant.toLowerCase()] ?? 1);
    const workerFlops = s.threads * coresPerThread * busyFactor * p.flopsPerCore * quantFactor;
    const computeSeconds = (cpuShare * (weightPassFlops + tokenFlops)) / workerFlops;

    const cpuLayers = cpuShare * model.layers;
    // Host work per step and per sequence runs on one thread whatever the thread count (Amdahl).
    const hostSeconds = p.hostSecondsPerStep + p.hostSecondsPerSequence * s.sequences;
    const syncSeconds = cpuLayers * p.syncSecondsPerLayerThread * (s.threads - 1) + hostSeconds;
    // Oversubscription stalls grow with how many threads queue on each core and steeply with the
    // threads that must meet at each barrier: on the 16-core Xeon at 2x, 16x2 lost 20%, 8x4 75%
    // and 4x8 98% (docs/models.md), i.e. about the cube of a worker's threads.
    const stallSeconds = oversubscribed
      ? model.layers * p.oversubscribedSecondsPerLayer * (s.threads / OVERSUBSCRIPTION_REFERENCE_THREADS) ** 3 * (Math.ceil(totalThreads / m.usableCpus - 1e-9) - 1)
      : 0;

    let gpuSeconds = 0;
    const sharing = workersPerGroup(config, m.gpuCount) / gpusPerWorker(config, m.gpuCount);
    let stepSeconds = Math.max(memorySeconds, computeSeconds) + syncSeconds + stallSeconds;
    if (offload > 0) {
      // The host work of an offloaded model is the GPU step's (one thread, no barrier to wait at).
      const cpuSeconds = offload >= 1 ? 0 : stepSeconds - hostSeconds;
      const g = gpuStep({
        offload,
        bytes: weightBytes + kvBytes,
        flops: s.sequences * flopsPerToken,
        layers: model.layers,
        sequences: s.sequences,
        vocabSize: Number.isFinite(model.vocabSize) ? model.vocabSize : 0,
        workers: s.workers,
        gbps: m.gpuGbps,
      });
      gpuSeconds = g.gpuSeconds;
      stepSeconds = sharedStepSeconds(cpuSeconds, g, sharing) / this.gpuScale;
    }
    const tokensPerSecond = (s.workers * s.sequences) / stepSeconds;
    // Fully offloaded and not waiting on the GPU: the host's per-step work is the bound.
    const gpuBound = offload > 0 && sharing * gpuSeconds >= stepSeconds * this.gpuScale * 0.999;
    const bound = oversubscribed ? "oversubscribed" : gpuBound ? "gpu" : offload >= 1 ? "host" : memorySeconds >= computeSeconds ? "memory" : "compute";
    return { tokensPerSecond, stepSeconds, memorySeconds, computeSeconds, syncSeconds, hostSeconds, gpuSeconds, oversubscribed, bound };
  }

  /** Aggregate decode tok/s under the current parameters, without the uncertainty. */
  mean(config: Config): number {
    return this.breakdown(config).tokensPerSecond;
  }

  predict(config: Config): Prediction {
    const b = this.breakdown(config);
    let logSd = this.logSd;
    if (this.covariance && this.layout) {
      const layout = this.layout;
      const g = (lp: number[]) => Math.log(this.breakdown(config, fromLog(lp, layout)).tokensPerSecond);
      logSd = Math.sqrt(logSd ** 2 + deltaVariance(g, toLog(this.params, layout), this.covariance));
    }
    if (b.oversubscribed && !this.seenOversubscribed) logSd = Math.max(logSd, OVERSUBSCRIBED_LOG_SD);
    if (b.gpuSeconds > 0 && !this.machine.gpuKnown) logSd = Math.max(logSd, 0.6);
    if (!this.machine.bandwidthKnown) logSd = Math.max(logSd, 0.6);
    const mean = b.tokensPerSecond;
    return { mean, std: mean * logSd, source: this.calibratedWith > 0 ? `roofline (calibrated on ${this.calibratedWith})` : "roofline (prior)" };
  }

  private seenOversubscribed = false;
  /**
   * Measured over predicted speed of the GPU configurations seen (geometric mean, shrunk toward 1
   * with few trials): the GPU step has its own constants (models/gpu-step.ts), which the CPU
   * calibration must neither move nor be moved by.
   */
  private gpuScale = 1;
  /** The quants whose factor the last calibration vector carries (in order). */
  private layout: string[] | null = null;

  private calibrateGpu(observations: Observation[], prior: FullParams): void {
    this.gpuScale = 1;
    if (observations.length === 0) return;
    const logs = observations.map((o) => Math.log((o.value as number) / this.breakdown(o.config, prior).tokensPerSecond));
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    this.gpuScale = Math.exp((mean * logs.length) / (logs.length + 1));
  }

  /** Calibration is the roofline's fit: PerformanceModel.fit. */
  fit(observations: Observation[]): void {
    this.calibrate(observations);
  }

  /**
   * Fits, in log space, the bandwidth fraction, the per-core FLOP/s, the barrier cost, the host
   * work per step and per sequence, the all-cores-busy slowdown, the weight-pass cost, the
   * kernel-regime token costs at 4 and 16 rows, a compute factor per further quant seen, and (when
   * an oversubscribed trial was seen) the stall. The priors are pseudo-observations, so one or two
   * trials move only what they can tell apart and a term no trial touches stays at its prior.
   * Failed trials carry no number and are skipped. Fitting always restarts from the prior, so
   * calling it again with more observations is the same as calling it once with all of them.
   */
  calibrate(observations: Observation[]): FullParams {
    const prior = complete(this.options.params, this.hostSecondsPerSequencePrior);
    // A trial of a quant without a model file here cannot inform the roofline: skip it.
    const computable = (c: Config) => {
      try {
        return Number.isFinite(this.breakdown(c, prior).tokensPerSecond);
      } catch {
        return false;
      }
    };
    const measured = observations.filter((o) => o.status === "ok" && o.value !== null && Number.isFinite(o.value) && o.value > 0 && computable(o.config));
    const onGpu = (o: Observation) => this.machine.gpuGbps > 0 && readShape(o.config, this.machine.usableCpus).gpuLayers > 0;
    this.calibrateGpu(measured.filter(onGpu), prior);
    const usable = measured.filter((o) => !onGpu(o));
    this.params = prior;
    this.covariance = null;
    this.layout = null;
    this.logSd = PRIOR_LOG_SD;
    this.calibratedWith = measured.length - usable.length;
    this.seenOversubscribed = usable.some((o) => this.breakdown(o.config, prior).oversubscribed);
    if (usable.length === 0) return this.parameters;

    // One compute factor per quant seen beyond the first (the FLOP/s carries the first one's).
    const seenQuants = [...new Set(usable.map((o) => this.modelFor(readShape(o.config, this.machine.usableCpus).quant).quant.toLowerCase()))];
    const reference = this.models.map((m) => m.quant.toLowerCase()).find((q) => seenQuants.includes(q));
    const layout = seenQuants.filter((q) => q !== reference);
    const y = usable.map((o) => Math.log(o.value as number));
    // A low-fidelity trial is a shorter, noisier measurement: trust it less.
    const sigma = usable.map((o) => 1 / Math.sqrt(Math.max(0.1, Math.min(1, o.fidelity ?? 1))));
    const priorLog = toLog(prior, layout);
    const priorSd = [...SCALAR_PARAMS.map((name) => PARAM_PRIOR_LOG_SD[name]), ...layout.map(() => QUANT_FACTOR_PRIOR_LOG_SD)];
    // Without an oversubscribed trial nothing constrains the stall: leave it at its prior.
    const stall = SCALAR_PARAMS.indexOf("oversubscribedSecondsPerLayer");
    const free = priorLog.map((_, k) => k).filter((k) => k !== stall || this.seenOversubscribed);
    const bandwidth = SCALAR_PARAMS.indexOf("bandwidthFraction");
    const full = (lp: number[]) => {
      const out = [...priorLog];
      free.forEach((k, j) => (out[k] = lp[j]));
      return out;
    };
    // The noise scale the prior is weighed against: ~10% per trial.
    const noise = 0.1;
    const fit = leastSquares({
      model: (lp, i) => Math.log(this.breakdown(usable[i].config, fromLog(full(lp), layout, prior)).tokensPerSecond),
      y,
      sigma: sigma.map((s) => s * noise),
      initial: free.map((k) => priorLog[k]),
      prior: { mean: free.map((k) => priorLog[k]), sd: free.map((k) => priorSd[k]) },
      min: free.map((k) => priorLog[k] - 4 * priorSd[k]),
      // A decode step cannot stream much faster than the probe measured (a native kernel may beat
      // the probe's WebAssembly triad a little); without this cap a slow barrier gets "paid for"
      // by an impossible bandwidth.
      max: free.map((k) => (k === bandwidth ? Math.min(Math.log(MAX_BANDWIDTH_FRACTION), priorLog[k] + 4 * priorSd[k]) : priorLog[k] + 4 * priorSd[k])),
    });
    const fullCov = priorLog.map(() => priorLog.map(() => 0));
    free.forEach((a, i) => free.forEach((b, j) => (fullCov[a][b] = fit.covariance[i][j])));
    this.params = fromLog(full(fit.params), layout, prior);
    this.layout = layout;
    this.calibratedWith = measured.length;
    // Residual scatter in log space is the honest uncertainty of the next prediction; with few
    // trials blend toward the prior's spread, since a perfect fit of 2 points proves little.
    const residuals = usable.map((o, i) => y[i] - Math.log(this.breakdown(o.config).tokensPerSecond));
    const rms = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / usable.length);
    // The scatter is measured on the trials the parameters were fitted to: divide the sum of
    // squares by the trials left over after the parameters the data pinned down (a ridge fit's
    // effective degrees of freedom), not by the count, or ten terms fitted to eight trials look exact.
    const w = usable.length / (usable.length + 3);
    const leftOver = Math.max(1, usable.length - Math.min(fit.effectiveParameters, usable.length - 1));
    this.logSd = Math.max(MIN_LOG_SD, Math.sqrt(w * rms * rms * (usable.length / leftOver) + (1 - w) * PRIOR_LOG_SD ** 2 * 0.25));
    // Parameter covariance in noise units: scale it to the observed scatter.
    const scale = (Math.max(rms, MIN_LOG_SD) / noise) ** 2;
    this.covariance = fullCov.map((r) => r.map((v) => v * Math.min(1, scale)));
    return this.parameters;
  }
}

/** The parameters as one log-scale vector: the scalars of `SCALAR_PARAMS`, then the factors of the quants in `quants`. */
function toLog(p: FullParams, quants: string[]): number[] {
  return [...SCALAR_PARAMS.map((name) => Math.log(p[name])), ...quants.map((q) => Math.log(p.quantFactors[q] ?? 1))];
}

function fromLog(lp: number[], quants: string[], base: FullParams = DEFAULT_ROOFLINE_PARAMS): FullParams {
  const out = { ...base, quantFactors: { ...base.quantFactors } };
  SCALAR_PARAMS.forEach((name, k) => (out[name] = Math.exp(lp[k])));
  quants.forEach((q, i) => (out.quantFactors[q] = Math.exp(lp[SCALAR_PARAMS.length + i])));
  return out;
}

/** A prior-mean function for the Bayesian tuner: config -> predicted decode tok/s. */
export function rooflinePriorMean(options: RooflineOptions): (config: Config) => number {
  const model = new RooflineModel(options);
  return (config) => model.mean(config);
}

/**
 * The default parameters with every constant `factor` times worse (bandwidth fraction and FLOP/s
 * divided by it, every cost multiplied): a stand-in for a machine the prior does not know, used by
 * bench/models-accuracy and the tests to check that calibration recovers. The per-sequence host
 * work is the prior the roofline would give these model files, times `factor`.
 */
export function pessimisticParams(factor: number, models: ModelInfo | ModelInfo[]): Required<RooflineParams> {
  const d = { ...DEFAULT_ROOFLINE_PARAMS, hostSecondsPerSequence: priorHostSecondsPerSequence(Array.isArray(models) ? models : [models]) };
  return {
    bandwidthFraction: d.bandwidthFraction / factor,
    flopsPerCore: d.flopsPerCore / factor,
    syncSecondsPerLayerThread: d.syncSecondsPerLayerThread * factor,
    oversubscribedSecondsPerLayer: d.oversubscribedSecondsPerLayer * factor,
    hostSecondsPerStep: d.hostSecondsPerStep * factor,
    hostSecondsPerSequence: d.hostSecondsPerSequence * factor,
    busySlowdown: d.busySlowdown * factor,
    weightPassFlopsPerParam: d.weightPassFlopsPerParam * factor,
    tokenCostAt4Rows: d.tokenCostAt4Rows * factor,
    tokenCostAt16Rows: d.tokenCostAt16Rows * factor,
    quantFactors: {},
  };
}
