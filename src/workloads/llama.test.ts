// Real trials on a tiny synthetic model: the numbers are not checked for speed, only for sense,
// and every failure path is checked for its status and for leaving no worker behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthesize } from "../synth.js";
import { LlamaWorkload, trialPlan } from "./llama.js";
import { isAlive } from "./processes.js";
import { UserInputError } from "../errors.js";

let dir: string;
let model: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "paratune-llama-"));
  model = (await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir })).path;
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Waits until the workload has `count` workers running and returns their pids. */
async function workersOf(w: LlamaWorkload, count: number): Promise<number[]> {
  const deadline = Date.now() + 20_000;
  while (w.workerPids.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return w.workerPids;
}

/** One worker, one thread, `sequences` sequences, with PARATUNE_LLAMA_PROFILE=1 for that trial only. */
async function runProfiled(w: LlamaWorkload, sequences: number) {
  process.env.PARATUNE_LLAMA_PROFILE = "1";
  try {
    return await w.run({ workers: 1, threads: 1, sequences }, { level: 1 });
  } finally {
    delete process.env.PARATUNE_LLAMA_PROFILE;
  }
}

describe("LlamaWorkload", () => {
  it("runs P workers x S sequences and reports throughput, latency and memory", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 16, genTokens: 8, reps: 2, targetRme: Number.POSITIVE_INFINITY });
    const running = w.run({ workers: 2, threads: 1, sequences: 2 }, { level: 1 });
    const pids = await workersOf(w, 2);
    const m = await running;
    expect(m.error).toBeUndefined();
    expect(m.status).toBe("ok");
    expect(m.samples).toHaveLength(2);
    expect(m.warmup).toBe(1);
    expect(m.primary).toBe("decodeTps");
    expect(m.metrics.decodeTps).toBeGreaterThan(0);
    expect(m.metrics.prefillTps).toBeGreaterThan(0);
    expect(m.metrics.ttftP50Ms).toBeLessThan(m.metrics.latencyP50Ms!);
    expect(m.metrics.ttftP95Ms).toBeGreaterThanOrEqual(m.metrics.ttftP50Ms!);
    expect(m.metrics.loadMs).toBeGreaterThan(0);
    expect(Number.isFinite(m.rme)).toBe(true);
    // Two processes map the same model file: PSS splits the shared pages, RSS counts them twice.
    expect(m.metrics.peakRssBytes).toBeGreaterThan(0);
    expect(m.metrics.peakPssBytes).toBeLessThan(m.metrics.peakRssBytes!);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(w.workerPids).toEqual([]);
  }, 90_000);

  it("starts each worker with one libuv pool thread unless told otherwise", async () => {
    const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    /** The pool size a worker of `w` was started with (read from the running process). */
    const poolOf = async (w: LlamaWorkload): Promise<string | undefined> => {
      const running = w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 1 });
      try {
        const [pid] = await workersOf(w, 1);
        return environOf(pid).find((e) => e.startsWith("UV_THREADPOOL_SIZE="));
      } finally {
        expect((await running).status).toBe("ok");
      }
    };
    const saved = { uv: process.env.UV_THREADPOOL_SIZE, ours: process.env.PARATUNE_WORKER_THREADPOOL_SIZE };
    const make = (extra: { threadPoolSize?: number } = {}) => new LlamaWorkload({ model, promptTokens: 16, genTokens: 200, reps: 1, ...extra });
    try {
      // A pool size paratune itself inherits (a host's setting for its services) is not passed on.
      process.env.UV_THREADPOOL_SIZE = "7";
      delete process.env.PARATUNE_WORKER_THREADPOOL_SIZE;
      expect(await poolOf(make())).toBe("UV_THREADPOOL_SIZE=1");
      process.env.PARATUNE_WORKER_THREADPOOL_SIZE = "4";
      expect(await poolOf(make())).toBe("UV_THREADPOOL_SIZE=4");
      expect(await poolOf(make({ threadPoolSize: 3 }))).toBe("UV_THREADPOOL_SIZE=3");
      process.env.PARATUNE_WORKER_THREADPOOL_SIZE = "4abc";
      expect(() => make()).toThrow(UserInputError);
      expect(() => make({ threadPoolSize: 0 })).toThrow(/from 1 to 1024/);
    } finally {
      for (const [k, v] of [["UV_THREADPOOL_SIZE", saved.uv], ["PARATUNE_WORKER_THREADPOOL_SIZE", saved.ours]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 120_000);

  it("refuses to time decoding with fewer than 2 generated tokens", () => {
    expect(() => new LlamaWorkload({ model, genTokens: 1 })).toThrow(/at least 2/);
  });

  it("runs shorter, single-repetition trials at low fidelity", async () => {
    expect(trialPlan({ level: 1 }, 32, 3)).toEqual({ genTokens: 32, reps: 3 });
    expect(trialPlan({ level: 0.5 }, 32, 3)).toEqual({ genTokens: 16, reps: 1 });
    expect(trialPlan({ level: 0.1 }, 32, 3)).toEqual({ genTokens: 8, reps: 1 });
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 32, reps: 3 });
    const m = await w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 0.25 });
    expect(m.status).toBe("ok");
    expect(m.samples).toHaveLength(1);
    expect(m.fidelity).toEqual({ level: 0.25 });
    expect(m.rme).toBe(Number.POSITIVE_INFINITY);
  }, 60_000);

  it("times more repetitions of a full trial while its margin of error is above the target, up to the cap", async () => {
    // A target of 0 is never met: the trial stops at the cap. Short trials stay one repetition.
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 6, reps: 2, targetRme: 0, maxReps: 4 });
    const full = await w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 1 });
    expect(full.samples).toHaveLength(4);
    const short = await w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 0.5 });
    expect(short.samples).toHaveLength(1);
    // The final race's trials keep to the planned repetitions: the race repeats them itself.
    const race = await w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 1, extendReps: false });
    expect(race.samples).toHaveLength(2);
  }, 60_000);

  it("decodes without sampling in decode-only dispatch (the llama-batched-bench comparison)", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 6, reps: 1, dispatch: "decode-only" });
    const m = await runProfiled(w, 3);
    expect(m.error).toBeUndefined();
    expect(m.status).toBe("ok");
    // Still one llama_decode per step for all three sequences (prompt + 5 steps), and no sampler.
    expect(m.metrics.profileDecodeCalls).toBe(6);
    expect(m.metrics.profileSampleCalls).toBe(0);
    expect(m.metrics.decodeTps).toBeGreaterThan(0);
    expect(m.metrics.ttftP50Ms).toBeLessThan(m.metrics.latencyP50Ms!);
  }, 60_000);

  it("accounts for the worker's threads when profiling (PARATUNE_LLAMA_PROFILE=1)", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 12, reps: 1 });
    const m = await runProfiled(w, 2);
    expect(m.status).toBe("ok");
    const x = m.metrics;
    // Lockstep: one llama_decode per step for both sequences (prompt + 11 decode steps).
    expect(x.profileDecodeCalls).toBe(12);
    expect(x.profileSampleCalls).toBe(24);
    expect(x.profileCpuMs).toBeGreaterThan(0);
    expect(x.profileInvoluntarySwitches).toBeGreaterThanOrEqual(0);
    // With one thread ggml computes on the thread that called llama_decode, one of libuv's pool
    // (Node 20's pool threads are not named, so it counts with the "other" long-lived threads):
    // the run time of the threads besides the JS thread covers most of the time in decode calls.
    const helpersMs = Object.entries(x)
      .filter(([k]) => /^profile(?!Js)\w+RunMs$/.test(k))
      .reduce((s, [, v]) => s + (v ?? 0), 0);
    expect(helpersMs).toBeGreaterThan(0.5 * x.profileDecodeMs!);
    expect(x.profileJsRunMs).toBeGreaterThan(0);
    expect(x.profileJsRunMs).toBeLessThan(x.profileWallMs!);
    expect(x.profileJsWaitMs).toBeGreaterThanOrEqual(0);
    // Ranked per thread: the busiest first, and together the same time as the kinds.
    expect(x.profileThread1RunMs).toBeGreaterThanOrEqual(x.profileThread2RunMs!);
    const rankedMs = Object.entries(x)
      .filter(([k]) => /^profileThread\d+RunMs$/.test(k))
      .reduce((s, [, v]) => s + (v ?? 0), 0);
    expect(rankedMs).toBeLessThanOrEqual(helpersMs + x.profileJsRunMs! + 1e-6);
    expect(rankedMs).toBeGreaterThan(0.9 * x.profileDecodeMs!);
  }, 60_000);

  it("passes nodeArgs to the workers' Node.js", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 4, reps: 1, nodeArgs: ["--no-such-node-flag"] });
    const m = await w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 1 });
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/bad option: --no-such-node-flag/);
  }, 30_000);

  it("reports a model that cannot load as a failed trial", async () => {
    const broken = join(dir, "broken.gguf");
    await writeFile(broken, Buffer.alloc(4096, 7));
    const w = new LlamaWorkload({ model: broken, genTokens: 4, reps: 1 });
    const m = await w.run({ workers: 2, threads: 1, sequences: 1 }, { level: 1 });
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/model could not load/);
    expect(w.workerPids).toEqual([]);
  }, 60_000);

  it("times out a trial that runs too long and leaves no worker behind", async () => {
    const w = new LlamaWorkload({ model, genTokens: 4, reps: 1, timeoutMs: 300 });
    const running = w.run({ workers: 2, threads: 1, sequences: 1 }, { level: 1 });
    const pids = await workersOf(w, 2);
    const m = await running;
    expect(m.status).toBe("timeout");
    expect(m.error).toMatch(/timed out/);
    for (const pid of pids) expect(isAlive(pid), `worker ${pid} survived`).toBe(false);
  }, 60_000);

  it("turns a crashed worker into a failed trial and stops the others", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 4096, reps: 1 });
    const running = w.run({ workers: 2, threads: 1, sequences: 1 }, { level: 1 });
    const pids = await workersOf(w, 2);
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pids[0], "SIGSEGV");
    const m = await running;
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/crashed with SIGSEGV/);
    for (const pid of pids) expect(isAlive(pid), `worker ${pid} survived`).toBe(false);
  }, 60_000);

  it("calls a SIGKILL out of memory only when the OOM killer fired", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 4096, reps: 1 });
    const running = w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 1 });
    const [pid] = await workersOf(w, 1);
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(pid, "SIGKILL");
    const m = await running;
    expect(m.error).toMatch(/killed by SIGKILL/);
    // This test's kill is not the OOM killer, and an unreadable counter is no evidence of one
    // (llama-sigkill.test.ts): either way the trial is a plain failure.
    expect(m.status).toBe("failed");
    expect(m.error).not.toMatch(/out of memory\)/);
  }, 60_000);

  it("treats impossible configurations as infeasible and bad options as user errors", async () => {
    const w = new LlamaWorkload({ models: { q4_0: model }, genTokens: 4, reps: 1 });
    expect((await w.run({ workers: 0 }, { level: 1 })).status).toBe("infeasible");
    const noQuant = await w.run({ workers: 1, quant: "q8_0" }, { level: 1 });
    expect(noQuant.status).toBe("infeasible");
    expect(noQuant.error).toMatch(/no model file for quant q8_0/);
    expect(w.modelFor({ quant: "q4_0" })).toBe(model);
    expect(() => new LlamaWorkload({ model: join(dir, "missing.gguf") })).toThrow(UserInputError);
    expect(() => new LlamaWorkload({})).toThrow(UserInputError);
  });
});
