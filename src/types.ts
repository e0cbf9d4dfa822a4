// The shared vocabulary of paratune. Every folder speaks these types; a concept that only one
// folder needs lives in that folder instead.

// ---------------------------------------------------------------- hardware (probes/)

export interface NumaNode {
  id: number;
  cpus: number[];
}

export interface CpuInfo {
  arch: string; // process.arch: x64, arm64, ...
  vendor: string;
  model: string;
  logical: number;
  physical: number;
  sockets: number;
  threadsPerCore: number;
  /** Groups of logical CPUs that share one physical core, e.g. [[0,16],[1,17],...]. */
  smtSiblings: number[][];
  numaNodes: NumaNode[];
  l2Bytes: number | null;
  l3Bytes: number | null;
  /** ISA flags that decide llama.cpp's kernels (avx2, fma, f16c, avx512f, amx_int8, neon, ...). */
  isa: string[];
}

export interface Limits {
  /** CPUs this process may really use: min(cgroup quota, cpuset, affinity). May be fractional for a quota. */
  cpus: number;
  /** The logical CPU ids the process may run on (cpuset / affinity). */
  allowedCpus: number[];
  /** Where the CPU limit came from, e.g. "cgroup v2 cpu.max 400000/100000". */
  cpuSource: string;
  /** cgroup memory limit in bytes, null when unlimited. */
  memoryBytes: number | null;
}

export interface MemoryInfo {
  totalBytes: number;
  availableBytes: number;
}

export interface BandwidthPoint {
  threads: number;
  gbps: number;
}

export interface Bandwidth {
  curve: BandwidthPoint[];
  singleGbps: number;
  peakGbps: number;
  /** How it was measured and any calibration applied, in words. */
  method: string;
}

export interface GpuInfo {
  index: number;
  name: string;
  uuid: string;
  vramBytes: number;
  vramFreeBytes: number;
  computeCapability: string | null;
  driver: string | null;
  pcieGen: number | null;
  pcieWidth: number | null;
}

export interface GpuLink {
  a: number;
  b: number;
  /** nvidia-smi topo code: NV# (NVLink with # links), PIX, PXB, PHB, NODE, SYS. */
  kind: string;
  nvlink: boolean;
}

export interface HardwareProfile {
  cpu: CpuInfo;
  limits: Limits;
  memory: MemoryInfo;
  bandwidth: Bandwidth | null;
  gpus: GpuInfo[];
  gpuLinks: GpuLink[];
  /**
   * Whether node-llama-cpp can use a GPU here: the backend it loaded ("cuda", "vulkan", "metal")
   * or null with the reason. Absent when no GPU was found (or in profiles saved before it existed).
   */
  gpuBackend?: { backend: string | null; devices: string[]; reason?: string };
  /** Things that went wrong while probing but did not stop it (a broken nvidia-smi, say). */
  warnings: string[];
  /** Stable hash of what determines performance; identical across runs on one machine. */
  fingerprint: string;
  probedAt: string;
  durationMs: number;
}

// ---------------------------------------------------------------- model files

export interface ModelInfo {
  path: string;
  name: string;
  architecture: string;
  /** llama.cpp file type name, lower case: f16, q8_0, q4_0, q4_k_m, ... */
  quant: string;
  fileBytes: number;
  /** Bytes of tensor data (what a decode step streams from memory, roughly). */
  weightBytes: number;
  parameterCount: number;
  layers: number;
  contextLength: number;
  embeddingLength: number;
  feedForwardLength: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  /** KV-cache bytes per token of context at f16 (all layers, K and V). */
  kvBytesPerToken: number;
  /** Hash of the GGUF header (metadata + tensor infos) and the file size: the model's identity. */
  identity: string;
}

// ---------------------------------------------------------------- search space (src/space)

export type ParamValue = number | string;
export type Config = Record<string, ParamValue>;

export type Param =
  | { name: string; kind: "int"; min: number; max: number; log?: boolean }
  | { name: string; kind: "ordinal"; values: number[] }
  | { name: string; kind: "categorical"; values: string[] };

export interface Constraint {
  name: string;
  /** Returns why the configuration is infeasible, or null when it is allowed. */
  check(config: Config): string | null;
}

export interface SearchSpace {
  params: Param[];
  constraints: Constraint[];
}

// ---------------------------------------------------------------- trials (src/workloads)

export type TrialStatus = "ok" | "failed" | "timeout" | "oom" | "infeasible";

/** How much effort a trial spends: 1 is a full trial, smaller is a cheaper, noisier one. */
export interface Fidelity {
  level: number;
  /**
   * Whether a full trial may time more repetitions while its margin of error is above the
   * workload's target (default true). The final race's trials do not: the race repeats them
   * itself, and a trial of known length is what lets its rounds fit the time kept for it.
   */
  extendReps?: boolean;
}

export interface Metrics {
  /** Aggregate decode tokens per second over all workers and sequences. */
  decodeTps?: number;
  prefillTps?: number;
  ttftP50Ms?: number;
  ttftP95Ms?: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  loadMs?: number;
  peakRssBytes?: number;
  peakPssBytes?: number;
  vramBytes?: number;
  /** The command workload's extracted metric. */
  value?: number;
  [name: string]: number | undefined;
}

/** One trial's result, read like tinybench: warm-up, samples, mean and relative margin of error. */
export interface Measurement {
  status: TrialStatus;
  metrics: Metrics;
  /** Name of the metric that `samples` and `rme` describe. */
  primary: string;
  /** One value of the primary metric per repetition, warm-up excluded. */
  samples: number[];
  warmup: number;
  /** Relative margin of error of the primary metric's mean at 95% confidence, as a fraction. */
  rme: number;
  /** Why it did not succeed; the tail of the output for a failed command. */
  error?: string;
  /**
   * Where the llama workload's workers computed: "cpu", or the GPU backend node-llama-cpp loaded
   * ("cuda", "vulkan", "metal"), with the layers offloaded in metrics.gpuLayersOffloaded.
   */
  backend?: string;
  durationMs: number;
  fidelity: Fidelity;
}

export interface Workload {
  readonly name: string;
  /** Metric the tuner optimises, and in which direction. */
  readonly objective: { metric: string; direction: "maximize" | "minimize" };
  run(config: Config, fidelity: Fidelity, signal?: AbortSignal): Promise<Measurement>;
  /** Releases whatever the workload holds (processes, temp files). */
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- search (tuners/)

/**
 * What a tuner learns from one trial. `value` is the objective turned so that larger is better
 * (the study negates minimised metrics); null when the trial did not produce one.
 */
export interface Observation {
  config: Config;
  status: TrialStatus;
  value: number | null;
  fidelity?: number;
}

/** Prediction of the objective for a configuration, with its standard deviation. */
export interface Prediction {
  mean: number;
  std: number;
  /** Which model made it: "roofline", "usl", "gp", ... */
  source: string;
}

export interface PerformanceModel {
  readonly name: string;
  fit(observations: Observation[]): void;
  predict(config: Config): Prediction;
}

/**
 * A search strategy. The study calls ask() for the next configuration and tell() with what it
 * measured, failed trials included; undefined from ask() means the strategy has nothing left.
 * Tuners know nothing about processes, files or clocks.
 */
export interface Tuner {
  readonly name: string;
  ask(): Config | undefined;
  tell(observation: Observation): void;
}

// ---------------------------------------------------------------- results (src/tune -> outputs, store)

/** One trial as the journal keeps it: appended to trials.jsonl when it ends. */
export interface TrialRecord {
  id: number;
  config: Config;
  /** Fidelity level the trial ran at (1 = full). */
  fidelity: number;
  measurement: Measurement;
  /** Objective, larger is better (negated for minimised metrics); null when the trial failed. */
  value: number | null;
  /** What the performance model predicted for the objective before the trial ran. */
  prediction?: Prediction;
  /** "race": a re-measurement of a finalist in the final race (src/tune/race.ts). */
  phase?: "race";
  startedAt: string;
  /** Milliseconds since the tuning run started, when the trial ended. */
  elapsedMs: number;
}

/** A configuration the report ranks: measured, predicted and compared to the baseline. */
export interface RankedConfig {
  config: Config;
  /** rme is the relative 95% margin of error of the objective; null when it has none (one number per trial). */
  measured: { mean: number; rme: number | null; samples: number[] } | null;
  predicted: Prediction | null;
  /** measured / baseline measured (for a minimised metric: baseline / measured). */
  speedupMeasured: number | null;
  speedupPredicted: number | null;
  /** The fidelity its measured numbers come from (1 = full trials); absent in older results. */
  fidelity?: number;
}

export interface WorkloadDescription {
  kind: "llama" | "command";
  objective: { metric: string; direction: "maximize" | "minimize" };
  /** The models tuned over (llama workload), by quantization variant. */
  models?: ModelInfo[];
  /** The templated command (command workload). */
  command?: string;
  /** Environment variables the command workload sets, as templates (OMP_NUM_THREADS={t}). */
  env?: Record<string, string>;
  /** The command workload's metric: a regular expression with one group, or "wall". */
  metric?: string;
  /** Fixed settings of the trials (prompt tokens, gen tokens, ...). */
  settings: Record<string, number | string>;
}

export interface TuneResult {
  version: 1;
  createdAt: string;
  tuner: string;
  budgetMs: number;
  elapsedMs: number;
  /** Why the run ended: "budget", "exhausted", "interrupted". */
  ended: string;
  hardware: HardwareProfile;
  workload: WorkloadDescription;
  params: Param[];
  trials: TrialRecord[];
  /** Configurations never run, with why (memory, cores, oversubscription). */
  infeasible: { config: Config; reason: string }[];
  /** 1 worker, all usable cores as threads, 1 sequence (or the command's first values). */
  baseline: RankedConfig;
  best: RankedConfig | null;
  runnerUp: RankedConfig | null;
  /** Top configurations by measured objective at the highest fidelity they reached. */
  ranking: RankedConfig[];
  /** How sure we are, in words and as the best's relative margin of error. */
  confidence: { level: "high" | "medium" | "low"; reason: string };
  /**
   * The final race: the finalists measured again in turn (values in the metric's units, one per
   * race trial); `best` and the ranking's head carry its numbers.
   */
  race?: {
    rounds: number;
    /** The fidelity of the race's trials; absent in results written before races could run short. */
    fidelity?: number;
    separated: boolean;
    why: string;
    finalists: { config: Config; values: number[]; trialIds: number[] }[];
  };
  /** Ranges that grew while the best sat on their edge, and where each range ended and why. */
  growth?: {
    events: { param: string; from: number; to: number; afterTrials: number; why: string }[];
    ends: { param: string; max: number; why: string }[];
  };
}
