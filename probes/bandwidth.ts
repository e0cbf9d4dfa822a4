// Memory bandwidth, measured: decode speed of a CPU LLM is bounded by how fast the weights stream
// from memory, and how that speed grows with threads (and where it stops growing) is what decides
// the best thread count. STREAM's triad a[i] = b[i] + s*c[i] over arrays much larger than all L3
// caches, on worker_threads sharing one memory, best of several repetitions per thread count.
// Bytes are counted as STREAM counts them: 24 per element (read b and c, write a). The hardware
// really moves 32, since writing a first reads its cache line (write-allocate); we keep STREAM's
// count so the numbers compare with published STREAM results and with bench/bandwidth-vs-c.sh.
import { Worker } from "node:worker_threads";
import type { Bandwidth, BandwidthPoint } from "../src/types.js";
import { CMD, CTRL, WORKER_SOURCE, triadWasm } from "./bandwidth-kernel.js";

export interface BandwidthOptions {
  /** Largest thread count; the curve runs 1, 2, 4, ... and ends exactly here. */
  maxThreads: number;
  /** Further thread counts to measure, such as the usable physical cores on an SMT machine. */
  alsoThreads?: number[];
  /** Total L3 over all instances; arrays are sized at 4x this each (64 MiB at least). */
  l3TotalBytes: number | null;
  /** Memory we may take; the three arrays stay under a quarter of it. */
  availableBytes: number;
  /** Repetitions per thread count (the best counts); 8 unless set. */
  reps?: number;
  /** Force the plain JavaScript kernel (for comparison); WebAssembly SIMD otherwise. */
  kernel?: "wasm" | "js";
  /** Bytes per array, overriding the sizing rule (bench scripts use it to match the C run). */
  arrayBytes?: number;
  /** Called after each thread count, for progress. */
  onPoint?: (point: BandwidthPoint, done: number, total: number) => void;
}

/** 1, 2, 4, ... up to max, always ending with max itself, plus any `also` below max. */
export function threadCounts(max: number, also: number[] = []): number[] {
  const top = Math.max(1, Math.floor(max));
  const out: number[] = [];
  for (let t = 1; t < top; t *= 2) out.push(t);
  out.push(top, ...also.filter((t) => Number.isInteger(t) && t >= 1 && t < top));
  return [...new Set(out)].sort((a, b) => a - b);
}

// TypeScript declares WebAssembly only in its DOM library, which this package does not load;
// these are the few members the probe uses.
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const MIB = 1024 * 1024;
// A 32-bit WebAssembly memory holds at most 4 GiB; leave a page of room.
const WASM_LIMIT = 4 * 1024 * MIB - 65536;

/** Bytes per array: 4x all L3 (STREAM's rule), at least 64 MiB, within memory and 4 GiB total. */
export function arrayBytesFor(l3TotalBytes: number | null, availableBytes: number): { bytes: number; note: string | null } {
  const want = Math.max(64 * MIB, 4 * (l3TotalBytes ?? 32 * MIB));
  const cap = Math.min(WASM_LIMIT / 3, availableBytes / 4 / 3);
  const bytes = Math.max(8 * MIB, Math.floor(Math.min(want, cap) / 65536) * 65536);
  const note = l3TotalBytes && bytes < 2 * l3TotalBytes ? `arrays only ${(bytes / l3TotalBytes).toFixed(1)}x L3, so caches may inflate the numbers` : null;
  return { bytes, note };
}

export async function measureBandwidth(opts: BandwidthOptions): Promise<Bandwidth> {
  const maxThreads = Math.max(1, Math.floor(opts.maxThreads));
  const sizing = opts.arrayBytes ? { bytes: Math.floor(opts.arrayBytes / 65536) * 65536, note: null } : arrayBytesFor(opts.l3TotalBytes, opts.availableBytes);
  const n = sizing.bytes / 8;
  const reps = opts.reps ?? 8;
  const wasmBytes = triadWasm();
  const useWasm = opts.kernel !== "js" && wasm.validate(wasmBytes);
  const pages = Math.ceil((3 * n * 8) / 65536);
  const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  const module = useWasm ? new wasm.Module(wasmBytes) : null;
  const ctrlBuf = new SharedArrayBuffer(CTRL.SIZE * 4);
  const timesBuf = new SharedArrayBuffer(maxThreads * 2 * 8);
  const ctrl = new Int32Array(ctrlBuf);
  const times = new Float64Array(timesBuf);
  // execArgv: [] keeps a parent started with --input-type=module from turning the script into ESM.
  const workers = Array.from(
    { length: maxThreads },
    (_, index) =>
      new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { memory, module, ctrl: ctrlBuf, times: timesBuf, index, n } }),
  );
  // Listening from the start, so that a worker that dies early is not waited for forever.
  const exited = workers.map((w) => new Promise((resolve) => w.once("exit", resolve)));
  const failed = new Promise<never>((_, reject) => {
    for (const w of workers) w.once("error", reject);
  });
  failed.catch(() => {});

  // Hands every worker a command and resolves when all of them have counted themselves done.
  const command = async (cmd: number, active: number) => {
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.store(ctrl, CTRL.READY, 0);
    Atomics.store(ctrl, CTRL.CMD, cmd);
    Atomics.store(ctrl, CTRL.ACTIVE, active);
    Atomics.add(ctrl, CTRL.GEN, 1);
    Atomics.notify(ctrl, CTRL.GEN);
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done >= workers.length) return;
      // waitAsync keeps the event loop (and a progress display) alive while workers run.
      const w = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t?: number): { async: boolean; value: Promise<string> | string } }).waitAsync(ctrl, CTRL.DONE, done, 1000);
      if (w.async) await Promise.race([w.value, failed]);
    }
  };

  try {
    // Each worker first touches the pages it will use with the most threads, so that on a NUMA
    // machine they sit on its own node as they would for llama.cpp's threads.
    await command(CMD.INIT, maxThreads);
    const counts = threadCounts(maxThreads, opts.alsoThreads);
    const curve: BandwidthPoint[] = [];
    for (const [k, threads] of counts.entries()) {
      const best = await fastestTriadMs(command, times, threads, reps);
      const point = { threads, gbps: round2((24 * n) / (best / 1000) / 1e9) };
      curve.push(point);
      opts.onPoint?.(point, k + 1, counts.length);
    }
    const kernel = useWasm ? "WebAssembly SIMD triad" : "JavaScript triad (no WebAssembly SIMD here)";
    const method =
      `${kernel} on worker_threads over one shared memory, 3 arrays x ${Math.round(sizing.bytes / MIB)} MiB, ` +
      `best of ${reps} per thread count, 24 bytes per element counted as STREAM does` +
      (sizing.note ? `; ${sizing.note}` : "");
    return {
      curve,
      singleGbps: curve[0].gbps,
      peakGbps: Math.max(...curve.map((p) => p.gbps)),
      method,
    };
  } finally {
    Atomics.store(ctrl, CTRL.CMD, CMD.EXIT);
    Atomics.add(ctrl, CTRL.GEN, 1);
    Atomics.notify(ctrl, CTRL.GEN);
    await Promise.all(exited);
  }
}

/** The fastest of `reps` triads on `threads` threads, in ms, each from the first start to the last end. */
async function fastestTriadMs(command: (cmd: number, active: number) => Promise<void>, times: Float64Array, threads: number, reps: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    await command(CMD.TRIAD, threads);
    let start = Infinity;
    let end = 0;
    for (let i = 0; i < threads; i++) {
      start = Math.min(start, times[2 * i]);
      end = Math.max(end, times[2 * i + 1]);
    }
    best = Math.min(best, end - start);
  }
  return best;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
