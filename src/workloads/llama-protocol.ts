// Messages between the llama workload (parent) and its worker processes, over the IPC channel.
// One trial: spawn -> "ready" (model loaded) -> for each repetition "go" -> "result" -> "exit".
// The parent sends "go" to every worker at once after all are ready, which is the common barrier.

export interface WorkerSettings {
  modelPath: string;
  threads: number;
  sequences: number;
  /** Tokens per llama_decode call; undefined keeps node-llama-cpp's default (512). */
  batch?: number;
  gpuLayers: number;
  promptTokens: number;
  /** Largest number of tokens any repetition will generate (sizes the context). */
  maxGenTokens: number;
  /**
   * "lockstep": all sequences step together, one llama_decode per generated token (what
   * llama-batched-bench does). "free": each sequence loops on its own, as a naive
   * `for await (... of sequence.evaluate())` server would; kept to measure the difference.
   * "decode-only": lockstep without sampling, for comparing with llama-batched-bench (which does
   * not sample either): every step feeds each sequence one token (the prompt's, cycled) and
   * computes its logits, but no sampler runs. Not what a deployment sees; it takes the sampling
   * jobs out (each call still builds a sampler object on the JS thread, which is not run).
   */
  dispatch: "lockstep" | "free" | "decode-only";
  flashAttention?: boolean;
}

export type ParentMessage =
  | { type: "go"; rep: number; genTokens: number; /** The prompt's length this repetition, when not the settings' (the warm-up). */ promptTokens?: number }
  | { type: "exit" };

export interface RepResult {
  rep: number;
  /** Wall-clock instants in ms since the epoch (performance.timeOrigin based), comparable across workers. */
  startedAt: number;
  /** When the last sequence of this worker had its first token: prefill is over. */
  prefillEndAt: number;
  endedAt: number;
  promptTokens: number;
  /** Tokens generated after the first one, over all sequences: the decode phase's output. */
  decodeTokens: number;
  ttftMs: number[];
  latencyMs: number[];
  /** Tokens generated per sequence (checks that exactly the requested number came out). */
  generated: number[];
  /** The worker's memory, read by itself right after the repetition (see WorkerMemory). */
  memory?: WorkerMemory;
  /** With PARATUNE_LLAMA_PROFILE=1: where the time went (see docs/workloads.md, fidelity). */
  profile?: DecodeProfile;
}

/**
 * Read by the worker at the barrier, never while tokens are timed: reading smaps_rollup walks the
 * process's page tables and, sampled during decoding, slowed llama_decode by up to 2x at
 * threads = cores (docs/workloads.md). The context's KV cache and compute buffers are still
 * allocated at the barrier, so this is the steady state the trial peaks at.
 */
export interface WorkerMemory {
  rssBytes: number;
  pssBytes: number;
  /** Peak RSS since the worker started (VmHWM). */
  peakRssBytes: number;
}

export interface DecodeProfile {
  /** llama_decode calls and the ms spent inside them (native work, off the JS thread). */
  decodeCalls: number;
  decodeMs: number;
  /** Sampling calls (one per sequence and token) and the ms from request to result. */
  sampleCalls: number;
  sampleMs: number;
  /** CPU time of the whole worker process (every thread, ggml's short-lived ones included). */
  cpuMs?: number;
  /** Times a thread of the worker was preempted (getrusage's involuntary context switches). */
  involuntarySwitches?: number;
  /**
   * The worker's long-lived threads grouped by kind (the JS thread, libuv's pool, V8's helpers,
   * other): ms on a CPU and ms runnable but waiting for one, from /proc/self/task/<tid>/schedstat.
   * ggml's compute threads live for one llama_decode and are gone when this is read; their CPU
   * time is in cpuMs, not here.
   */
  threads?: Record<string, ThreadTime>;
  /** The same per thread, busiest first (every long-lived thread, whatever its kind). */
  ranked?: ThreadTime[];
}

export interface ThreadTime {
  runMs: number;
  waitMs: number;
}

export type WorkerMessage =
  | {
      type: "ready";
      loadMs: number;
      contextMs: number;
      contextSize: number;
      /** VRAM in use on the worker's GPU (all processes) once its model and context are loaded. */
      vramBytes: number;
      /** The backend node-llama-cpp loaded: "cpu", "cuda", "vulkan" or "metal". */
      backend: string;
      /** Layers the model really offloaded. */
      gpuLayers: number;
      memory?: WorkerMemory;
    }
  | { type: "result"; result: RepResult }
  | { type: "error"; stage: "load" | "context" | "run"; message: string };
