import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { recommend } from "./recommend.js";
import { predictRecommendation } from "./recommend-predict.js";
import { readModelInfo } from "./model-info.js";
import { synthesize } from "./synth.js";
import { H200_PROFILE } from "./testing/h200-profile.js";
import { saveToStore, storeHistory, storeKeyOf } from "./store.js";
import { feasibleConfigs } from "./space.js";
import type { TuneResult } from "./types.js";

// Real runs: the tiny synthetic model, a real probe, real llama.cpp trials through node-llama-cpp.
const root = mkdtempSync(join(tmpdir(), "paratune-recommend-"));
process.env.PARATUNE_DATA_DIR = join(root, "data");
process.env.PARATUNE_CACHE_DIR = join(root, "cache");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const model = { shape: "tiny", quants: ["q4_0"] };
const distRecommend = fileURLToPath(new URL("../dist/src/recommend.js", import.meta.url));

describe("recommend()", () => {
  it("with budget 0 answers from the models alone: source predicted, no trial, nothing stored", async () => {
    const out = join(root, "out-predicted");
    const answer = await recommend({ ...model, budgetMs: 0, outDir: out });
    const rec = answer.recommendation;
    expect(rec.source).toBe("predicted");
    expect(rec.trials).toBe(0);
    expect(rec.expected.basis).toBe("predicted");
    expect(rec.confidence.level).toBe("low");
    expect(rec.confidence.reason).toMatch(/no trial ran/);
    // The model's pick over its own prediction of the baseline: at least the baseline (the pick is
    // within 1% of the highest prediction), and the ratio of the two numbers the answer states.
    expect(rec.speedup).toBeCloseTo(rec.expected.value! / rec.baselineValue!, 10);
    expect(rec.speedup).toBeGreaterThanOrEqual(0.99);
    // A prediction carries its 95% interval, not a margin of error of a measurement.
    expect(rec.expected.rme).toBeNull();
    expect(rec.expected.interval![0]).toBeLessThan(rec.expected.value!);
    expect(rec.expected.interval![1]).toBeGreaterThan(rec.expected.value!);
    expect(answer.outDir).toBeNull();
    // No tuning folder, no journal, no store entry: nothing ran.
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(root, "data", "store"))).toBe(false);
    // The .env says where the numbers came from.
    expect(answer.envText).toMatch(/source predicted/);
    expect(answer.env.PARALLEL_WORKERS).toBe(String(rec.config.workers));
    expect(answer.env.MODEL_PATH).toMatch(/tiny-q4_0.*\.gguf$/);
  });

  it("with budget 0 on a GPU machine predicts offload: every layer on the GPU, workers sharing it", async () => {
    const { path } = await synthesize({ shape: "tiny", quant: "q4_0", outDir: root });
    const rec = await predictRecommendation(await H200_PROFILE(), [await readModelInfo(path)], { promptTokens: 64, genTokens: 32, objective: undefined });
    // The tiny model has 4 layers and the output layer.
    expect(rec.config).toMatchObject({ gpuLayers: 5 });
    expect(Number(rec.config.workers)).toBeGreaterThan(1);
    expect(Number(rec.config.sequences)).toBeGreaterThan(1);
    expect(rec.baseline).toMatchObject({ workers: 1, sequences: 1, gpuLayers: 5 });
  });

  it("lets one of two processes asking at once tune; the other waits and answers from the store", async () => {
    expect(existsSync(distRecommend), "run `npx tsc -p .` first: the askers run the compiled recommend.js").toBe(true);
    // A script file, not `node -e`: node-llama-cpp tests its binary in a child that inherits
    // the parent's execArgv, and `--input-type` makes that child fail.
    const script = join(root, "ask.mjs");
    writeFileSync(
      script,
      `import { recommend } from ${JSON.stringify(distRecommend)};
      const a = await recommend({ shape: "tiny", quants: ["q4_0"], budgetMs: 30000, envStyle: "llama-server", outDir: process.argv[2] });
      process.stdout.write(JSON.stringify({ source: a.recommendation.source, config: a.recommendation.config, trials: a.recommendation.trials, outDir: a.outDir }));`,
    );
    const ask = (n: number) => execa(process.execPath, [script, join(root, `race-${n}`)], { env: { ...process.env } });
    const answers = (await Promise.all([ask(1), ask(2)])).map((r) => JSON.parse(r.stdout));
    expect(answers.map((x) => x.source).sort()).toEqual(["store", "tuned"]);
    expect(answers[0].config).toEqual(answers[1].config);
    // Only the tuning process made a run folder; the store holds its one result.
    const tuned = answers.find((x) => x.source === "tuned");
    expect([existsSync(join(root, "race-1")), existsSync(join(root, "race-2"))].filter(Boolean)).toHaveLength(1);
    for (const f of ["trials.jsonl", "recommendation.json", ".env", "report.md"]) expect(existsSync(join(tuned.outDir, f)), f).toBe(true);
    const result = JSON.parse(readFileSync(join(tuned.outDir, "result.json"), "utf8")) as TuneResult;
    expect(storeHistory(storeKeyOf(result))).toHaveLength(1);
    expect(readFileSync(join(tuned.outDir, "trials.jsonl"), "utf8").trim().split("\n")).toHaveLength(tuned.trials);
  });

  it("answers the same question again from the store without a trial, merging into the user's .env", async () => {
    const tunedDir = [join(root, "race-1"), join(root, "race-2")].find((d) => existsSync(d))!;
    const journal = readFileSync(join(tunedDir, "trials.jsonl"), "utf8");
    const envFile = join(root, "project.env");
    writeFileSync(envFile, "# my service\nPORT=8080\nLLAMA_ARG_THREADS=99\n");
    const again = await recommend({ ...model, budgetMs: 30_000, outDir: join(root, "out-again"), envStyle: "llama-server", envFile });
    expect(again.recommendation.source).toBe("store");
    expect(again.outDir).toBeNull();
    expect(again.recommendation.trials).toBeGreaterThan(0);
    expect(again.env.LLAMA_ARG_THREADS).toBe(String(again.recommendation.config.threads));
    // No trial ran: no new folder, the journal unchanged, still one entry in the store.
    expect(existsSync(join(root, "out-again"))).toBe(false);
    expect(readFileSync(join(tunedDir, "trials.jsonl"), "utf8")).toBe(journal);
    expect(storeHistory(again.storeKey)).toHaveLength(1);
    const merged = readFileSync(envFile, "utf8");
    expect(merged).toContain("# my service\nPORT=8080\n");
    expect(merged).toContain(`LLAMA_ARG_THREADS=${again.recommendation.config.threads}\n`);
    expect(merged).not.toContain("LLAMA_ARG_THREADS=99");

    // The same model file under another path is the same model (header hash and size): a store
    // hit, and the answer names the file asked about.
    const moved = join(root, "elsewhere", "my-model.gguf");
    mkdirSync(join(root, "elsewhere"));
    copyFileSync(again.recommendation.modelPath!, moved);
    const byPath = await recommend({ models: [moved], budgetMs: 0 });
    expect(byPath.recommendation.source).toBe("store");
    expect(byPath.env.MODEL_PATH).toBe(moved);

    // A different question (longer generations) is not answered by this entry; --fresh skips the store.
    expect((await recommend({ ...model, budgetMs: 0, genTokens: 256 })).recommendation.source).toBe("predicted");
    expect((await recommend({ ...model, budgetMs: 0, fresh: true })).recommendation.source).toBe("predicted");

    // A tuning saved by a paratune whose workers ran libuv's pool of 4 (no threadPoolSize in its
    // settings) is not reused: the answer says so and comes from the models instead.
    const stored = storeHistory(again.storeKey).at(-1)!.result;
    expect(stored.workload.settings.threadPoolSize).toBe(1);
    const old = structuredClone(stored);
    delete old.workload.settings.threadPoolSize;
    await saveToStore(old, again.storeKey);
    const notes: string[] = [];
    const stale = await recommend({ ...model, budgetMs: 0, onNote: (n) => notes.push(n) });
    expect(stale.recommendation.source).toBe("predicted");
    expect(notes.join("\n")).toMatch(/older paratune .*pool of 4/);
  });

  it("answers --objective latency from a latency tuning stored by tune(), with the latency's own (absent) margin", async () => {
    const { tuneRun } = await import("./tuning.js");
    const { REQUEST_LATENCY } = await import("./tune/objective.js");
    const { probe } = await import("../probes/index.js");
    // As in tune.test.ts: one usable CPU, so that a two-thread trial on the shared 2-core
    // machine does not stall at llama.cpp's barriers. The fingerprint is the machine's own.
    const real = await probe({ bandwidth: false });
    const hardware = { ...real, limits: { ...real.limits, cpus: 1, allowedCpus: real.limits.allowedCpus.slice(0, 1), cpuSource: "test: one CPU" } };
    const run = await tuneRun({ ...model, objective: "latency", budgetMs: 30_000, outDir: join(root, "latency-run"), hardware });
    expect(run.result.workload.objective).toEqual({ metric: REQUEST_LATENCY, direction: "minimize" });
    expect(run.result.best).not.toBeNull();
    // The best's trial at the highest fidelity it reached (on a busy machine, maybe a short one).
    const bestTrial = run.result.trials
      .filter((t) => JSON.stringify(t.config) === JSON.stringify(run.result.best!.config) && t.measurement.status === "ok")
      .sort((a, b) => b.fidelity - a.fidelity || b.id - a.id)[0];

    // Budget 0: a latency cannot be predicted, so only a store hit can answer.
    const answer = await recommend({ ...model, objective: "latency", budgetMs: 0 });
    const rec = answer.recommendation;
    expect(rec.source).toBe("store");
    expect(rec.objective).toEqual({ metric: REQUEST_LATENCY, direction: "minimize" });
    expect(rec.config).toEqual(run.result.best!.config);
    // The stored tuning's own number for its best: its trial's, or its final race's mean.
    expect(rec.expected.value).toBeCloseTo(run.result.best!.measured!.mean, 9);
    expect(bestTrial.measurement.metrics[REQUEST_LATENCY]).toBeGreaterThan(0);
    expect(rec.expected.unit).toBe("ms");
    // A trial's margin of error is decode throughput's: the latency has none of its own unless the
    // final race measured it several times, when the margin is over those latencies.
    const raced = (run.result.best!.measured!.samples.length ?? 0) >= 2 && run.result.race !== undefined;
    if (raced) expect(rec.expected.rme).toBeCloseTo(run.result.best!.measured!.rme ?? Number.NaN, 9);
    else {
      expect(rec.expected.rme).toBeNull();
      expect(answer.envText).not.toMatch(/requestLatencyMs [\d.]+ ms ±/);
    }
    expect(rec.confidence).toEqual(run.result.confidence);
    // Where the top two are compared, the comparison says what it counted.
    if (/runner-up \(95% interval/.test(rec.confidence.reason)) expect(rec.confidence.reason).toMatch(/requestLatencyMs has no margin of error of its own/);
    const report = readFileSync(join(run.outDir, "report.md"), "utf8");
    // When the final race measured the best again, the number is the race's (with its margin when
    // it measured it several times, or "not measured precisely" past ±100%, and saying so when
    // its trials were short ones); else a trial's, which has no latency margin.
    const best = JSON.stringify(run.result.best!.config);
    // The race's numbers are the answer's only when the race ranked the finalists (its values are then the best's samples).
    const bestRaced = run.result.race?.finalists.some((f) => f.values.length > 0 && JSON.stringify(f.config) === best && JSON.stringify(f.values) === JSON.stringify(run.result.best!.measured!.samples));
    expect(report).toMatch(
      bestRaced
        ? /- requestLatencyMs: [\d.]+ ms(( ±[\d.]+%| \(not measured precisely\))? \(mean of its final-race trials(, short ones at fidelity [\d.]+)?, 95% margin of error over them\)| \(its one final-race trial(, a short one at fidelity [\d.]+)?: no margin of error\))/
        : /- requestLatencyMs: [\d.]+ ms \(one number per trial(, a short trial at fidelity [\d.]+)?: requestLatencyMs has no margin of error here\)/,
    );

    // And through the CLI, as a user would ask.
    const bin = fileURLToPath(new URL("../bin/paratune.js", import.meta.url));
    const cli = await execa(process.execPath, [bin, "recommend", "--shape", "tiny", "--quant", "q4_0", "--objective", "latency", "--budget", "0", "--json"], { env: { ...process.env }, reject: false });
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).source).toBe("store");
  });

  it("answers a question with a latency limit only from a tuning under the same limit", async () => {
    const { tuneRun } = await import("./tuning.js");
    const { probe } = await import("../probes/index.js");
    const real = await probe({ bandwidth: false });
    const hardware = { ...real, limits: { ...real.limits, cpus: 1, allowedCpus: real.limits.allowedCpus.slice(0, 1), cpuSource: "test: one CPU" } };
    const limited = { ...model, genTokens: 24, maxLatencyMs: 10_000 };
    const run = await tuneRun({ ...limited, budgetMs: 20_000, outDir: join(root, "limited-run"), hardware });
    expect(run.result.best).not.toBeNull();

    const same = await recommend({ ...limited, budgetMs: 0 });
    expect(same.recommendation.source).toBe("store");
    expect(same.recommendation.config).toEqual(run.result.best!.config);
    // Without the limit it is another question: the tuning under it does not answer.
    expect((await recommend({ ...model, genTokens: 24, budgetMs: 0 })).recommendation.source).toBe("predicted");
    // Nor does it answer another limit, which the models alone cannot check.
    await expect(recommend({ ...limited, maxLatencyMs: 20_000, budgetMs: 0 })).rejects.toThrow(/latency limit cannot be checked/);
    await expect(recommend({ ...limited, objective: "latency", budgetMs: 0 })).rejects.toThrow(/--max-latency goes with the throughput objective/);
  });

  it("only recommends configurations of the feasible space", async () => {
    const { buildLlamaSpace } = await import("./tune/space-builder.js");
    const { probe } = await import("../probes/index.js");
    const { readModelInfo } = await import("./model-info.js");
    const answer = await recommend({ ...model, budgetMs: 0, fresh: true });
    const hw = await probe({ bandwidth: false });
    const info = await readModelInfo(answer.recommendation.modelPath!);
    const space = buildLlamaSpace(hw, [info], { contextPerSequence: 64 + 32 + 8 });
    const keys = feasibleConfigs(space).map((c) => JSON.stringify(c));
    expect(keys).toContain(JSON.stringify(answer.recommendation.config));
    // No tuning lock left behind in the store.
    expect(readdirSync(join(root, "data", "store")).every((f) => f.endsWith(".json"))).toBe(true);
  });
});
