// A real tuning run: the probe, a synthesised tiny model, node-llama-cpp workers, the bayes
// tuner and the output writers, with a small budget.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { probe } from "../../probes/index.js";
import { configKey } from "../space.js";
import type { HardwareProfile } from "../types.js";
import { readJournal } from "./journal.js";
import { buildLlamaSpace, memoryNeed, usableMemoryBytes } from "./space-builder.js";
import { enumerate, feasibleConfigs, infeasibility } from "../space.js";
import { UserInputError } from "../errors.js";
import { tuneRun } from "../tuning.js";
import { useTempPaths } from "../testing/temp-paths.js";

const paths = useTempPaths("paratune-tune");
const dir = () => paths.root();

describe("tune() on a tiny synthetic model", () => {
  it("measures within the budget, starting with the baseline, and writes the results", async () => {
    // This machine's real profile as a one-CPU cgroup would show it: the dev and CI machines
    // have two cores shared with other work, where a two-thread llama.cpp stalls at its
    // barriers and a trial takes ten times longer than it should.
    const real = await probe({ bandwidth: true });
    const hardware: HardwareProfile = { ...real, limits: { ...real.limits, cpus: 1, allowedCpus: real.limits.allowedCpus.slice(0, 1), cpuSource: "test: one CPU" } };
    const out = join(dir(), "run1");
    const budgetMs = 20_000;
    const t0 = performance.now();
    const run = await tuneRun({ shape: "tiny", budgetMs, tuner: "bayes", outDir: out, hardware, seed: 7 });
    const wall = performance.now() - t0;
    const r = run.result;

    // On time: the budget includes synthesis and writing the report; a few seconds of slack.
    expect(wall).toBeLessThan(budgetMs + 5000);
    expect(["budget", "exhausted"]).toContain(r.ended);

    // What ran: the baseline (1 worker x all usable cores x 1 sequence) first, then others.
    expect(r.trials.length).toBeGreaterThanOrEqual(3);
    expect(r.trials[0].config).toMatchObject({ workers: 1, threads: 1, sequences: 1 });
    expect(r.baseline.measured).not.toBeNull();
    expect(r.baseline.speedupMeasured).toBe(1);
    for (const t of r.trials) expect(t.measurement.status === "ok" ? t.value! > 0 : t.value === null).toBe(true);
    expect(new Set(r.trials.map((t) => configKey(t.config))).size).toBeGreaterThanOrEqual(2);

    // The files: the journal matches the result; outputs were written.
    const { records } = readJournal(join(out, "trials.jsonl"));
    expect(records.map((t) => t.id)).toEqual(r.trials.map((t) => t.id));
    for (const f of ["result.json", "study.json", "recommendation.json", ".env", "report.md"]) expect(existsSync(join(out, f))).toBe(true);
    const onDisk = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(onDisk.trials).toHaveLength(r.trials.length);
    // The result says what the trials ran under, the workers' libuv pool included.
    expect(onDisk.workload.settings).toMatchObject({ promptTokens: expect.any(Number), threadPoolSize: 1 });

    // Each trial stored the model's prediction before it ran; the result's predictions all come
    // from the model calibrated on every trial, so a predicted speedup is a ratio of two of them.
    expect(r.trials.every((t) => t.prediction?.source !== undefined)).toBe(true);
    expect(r.best).not.toBeNull();
    // The best's number is one of its trials' (the highest-fidelity one) or its final race's mean.
    const own = r.trials.filter((t) => configKey(t.config) === configKey(r.best!.config) && t.value !== null);
    const raced = own.filter((t) => t.phase === "race").map((t) => t.value!);
    const numbers = [...own.map((t) => t.value!), ...(raced.length ? [raced.reduce((a, b) => a + b, 0) / raced.length] : [])];
    expect(numbers.some((v) => Math.abs(v - r.best!.measured!.mean) < 1e-9)).toBe(true);
    expect(r.best!.speedupMeasured).toBeCloseTo(r.best!.measured!.mean / r.baseline.measured!.mean, 10);
    expect(r.best!.speedupPredicted).toBeCloseTo(r.best!.predicted!.mean / r.baseline.predicted!.mean, 10);
    expect(r.baseline.speedupPredicted).toBe(1);
  });

  it("refuses to overwrite a run, and says how to resume it", async () => {
    const err = await tuneRun({ shape: "tiny", budgetMs: 5000, outDir: join(dir(), "run1") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as UserInputError).hint).toMatch(/--resume/);
  });
});

describe("the search space of a real model file", () => {
  it("rules out what does not fit in memory or in the usable cores, saying why", async () => {
    const real = await probe();
    const { synthesize } = await import("../synth.js");
    const { readModelInfo } = await import("../model-info.js");
    const model = await readModelInfo((await synthesize({ shape: "tiny", quant: "q4_0" })).path);
    // Two usable cores and 300 MiB available (267 MB usable): one worker fits (a few MB of
    // weights + ~175 MB runtime and buffers), two do not.
    const hardware: HardwareProfile = {
      ...real,
      limits: { ...real.limits, cpus: 2, cpuSource: "test: two CPUs" },
      memory: { ...real.memory, availableBytes: 300 * 2 ** 20 },
    };
    const space = buildLlamaSpace(hardware, [model], { contextPerSequence: 104 });
    expect(space.params.map((p) => p.name)).toEqual(["workers", "threads", "sequences", "batch", "quant"]);
    const usable = usableMemoryBytes(hardware);
    for (const config of enumerate(space)) {
      const why = infeasibility(space, config);
      const w = Number(config.workers);
      const t = Number(config.threads);
      if (w * t > 2) expect(why).toMatch(/exceeds 2 usable cores/);
      else if (memoryNeed(config, model, { contextPerSequence: 104 }) > usable) expect(why).toMatch(/needs .* but .* is usable/);
      else expect(why).toBeNull();
      if (w === 2) expect(why).not.toBeNull();
    }
    expect(feasibleConfigs(space).length).toBeGreaterThan(0);
  });
});
