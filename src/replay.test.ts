import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserInputError } from "./errors.js";
import { configKey, feasibleConfigs } from "./space.js";
import { fractionOfBest, loadLandscape } from "./landscape.js";
import { landscapePrior, quartiles, replay, replaySeed } from "./replay.js";
import { loadLandscapeContext } from "./landscape-context.js";
import { gridOrder } from "../tuners/grid.js";
import { RooflineModel } from "../models/roofline.js";

const bin = fileURLToPath(new URL("../bin/paratune.js", import.meta.url));
const tinyFile = fileURLToPath(new URL("../fixtures/landscapes/tiny-2core.jsonl", import.meta.url));
const PARAMS = ["workers", "threads", "sequences", "batch", "quant"];
const tiny = loadLandscape(tinyFile, { params: PARAMS, objective: "decodeTps" });
const tmp = mkdtempSync(join(tmpdir(), "paratune-replay-"));

/** Writes text to a real file and loads it, returning the error message (or "" if it loaded). */
function loadError(text: string, objective = "decodeTps", params = ["threads", "sequences"]): string {
  const file = join(tmp, `bad-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, text);
  try {
    loadLandscape(file, { params, objective });
    return "";
  } catch (err) {
    expect(err).toBeInstanceOf(UserInputError);
    return (err as Error).message;
  }
}

describe("landscape loading", () => {
  it("reads a recorded landscape: parameters, failures and the best", () => {
    const lines = readFileSync(tinyFile, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(tiny.rows.length).toBe(lines.length);
    const failed = lines.filter((l) => l.ok === 0 || !l.decodeTps).length;
    expect(tiny.rows.filter((r) => r.value === null).length).toBe(failed);
    const best = Math.max(...lines.filter((l) => l.ok === 1).map((l) => l.decodeTps));
    expect(tiny.best.value).toBe(best);
    const threads = tiny.params.find((p) => p.name === "threads")!;
    expect(threads.kind).toBe("ordinal");
    expect(tiny.params.find((p) => p.name === "quant")!.kind).toBe("categorical");
    // Configurations outside the table are outside the space.
    expect(tiny.space.constraints[0].check({ ...tiny.best.config, threads: 999 })).toMatch(/not in the recorded/);
  });

  it("answers each kind of bad file with one clear line", () => {
    expect(loadError('{"threads":1,"sequences":1,"decodeTps":5}\nnot json\n')).toMatch(/line 2: not valid JSON/);
    expect(loadError('{"threads":1,"decodeTps":5}\n')).toMatch(/line 1: parameter "sequences" is missing/);
    expect(loadError('{"threads":1,"sequences":1,"tps":5}\n')).toMatch(/objective "decodeTps" is missing/);
    expect(loadError('{"threads":1,"sequences":1,"decodeTps":5}\n{"threads":1,"sequences":1,"decodeTps":6}\n')).toMatch(/already on line 1/);
    expect(loadError('{"threads":1,"sequences":1,"decodeTps":0}\n{"threads":2,"sequences":1,"ok":0}\n')).toMatch(/every configuration failed/);
    expect(loadError("\n\n")).toMatch(/has no configurations/);
    expect(loadError("[1,2]\n")).toMatch(/expected a JSON object/);
    expect(() => loadLandscape(join(tmp, "missing.jsonl"), { params: ["a"], objective: "b" })).toThrow(/cannot read landscape .*ENOENT/);
    // A failed row needs no objective; an objective of 0 is a failure too.
    expect(loadError('{"threads":1,"sequences":1,"decodeTps":5}\n{"threads":2,"sequences":1,"ok":0}\n')).toBe("");
  });
});

describe("replay statistics", () => {
  it("grid: trials to reach 95%/99% are the positions of the first such rows in grid order", () => {
    const fractions = gridOrder(tiny.space, feasibleConfigs(tiny.space)).map((c) => fractionOfBest(tiny, tiny.lookup(c)!.value));
    const first = (f: number) => fractions.findIndex((x) => x >= f) + 1;
    const run = replaySeed(tiny, "grid", 10, 0);
    expect(run.reach95).toBe(first(0.95));
    expect(run.reach99).toBe(first(0.99));
    expect(run.curve.length).toBe(Math.max(10, first(0.99)));
    // The best-so-far curve never goes down; fractionAtN is its value after N trials.
    for (let i = 1; i < run.curve.length; i++) expect(run.curve[i]).toBeGreaterThanOrEqual(run.curve[i - 1]);
    expect(run.fractionAtN).toBe(Math.max(...fractions.slice(0, 10)));
  });

  it("random: every seed eventually reaches the best, and N trials give the right fraction", () => {
    const result = replay(tiny, { tuners: ["random"], trials: 10, seeds: 6 });
    const r = result.tuners[0];
    expect(r.seeds).toHaveLength(6);
    for (const s of r.seeds) {
      expect(s.reach99).not.toBeNull();
      expect(s.reach95!).toBeLessThanOrEqual(s.reach99!);
      expect(s.fractionAtN).toBeLessThanOrEqual(1);
    }
    expect(r.reach95.median).toBe(quartiles(r.seeds.map((s) => s.reach95!)).median);
    expect(result.best.value).toBe(tiny.best.value);
    expect(result.within95).toBe(tiny.rows.filter((row) => row.value !== null && row.value >= 0.95 * tiny.best.value!).length);
    expect(result.within95).toBeGreaterThanOrEqual(1);
    expect(fractionOfBest(tiny, tiny.best.value)).toBe(1);
    expect(fractionOfBest(tiny, null)).toBe(0);
  });

  it("quartiles interpolate linearly and keep Infinity for seeds that never got there", () => {
    expect(quartiles([4, 1, 3, 2])).toEqual({ q1: 1.75, median: 2.5, q3: 3.25 });
    expect(quartiles([1, 2, Infinity])).toEqual({ q1: 1.5, median: 2, q3: Infinity });
    expect(quartiles([1, Infinity, Infinity]).q3).toBe(Infinity);
  });
});

describe("the roofline prior mean in replay (what paratune tune gives bayes)", () => {
  const h100File = fileURLToPath(new URL("../fixtures/landscapes/h100host-qwen05b.jsonl", import.meta.url));
  const h100 = loadLandscape(h100File, { params: ["workers", "threads", "sequences", "quant"], objective: "decodeTps" });
  const quietFile = fileURLToPath(new URL("../fixtures/landscapes/tiny-2core-quiet.jsonl", import.meta.url));

  it("is built from the sidecar's hardware profile and model info, as tune builds it", () => {
    const { priorMean, prior } = landscapePrior(h100);
    expect(prior.used).toBe(true);
    expect(prior.detail).toMatch(/^roofline \(h100host\.hardware\.json; models q4_0, q8_0; context 48 tokens\)$/);
    const context = loadLandscapeContext(h100File);
    const roofline = new RooflineModel({ hardware: context.hardware!, models: context.models!, contextTokens: context.contextTokens });
    for (const row of h100.rows.slice(0, 10)) expect(priorMean!(row.config)).toBe(roofline.predict(row.config).mean);
    // q8_0 reads more bytes per step than q4_0: the prior tells the quantizations apart.
    const c = { workers: 1, threads: 16, sequences: 1 };
    expect(priorMean!({ ...c, quant: "q4_0" })).toBeGreaterThan(priorMean!({ ...c, quant: "q8_0" }));
  });

  it("is left out with --no-prior, for other objectives, and without a sidecar, saying why", () => {
    expect(landscapePrior(h100, { disabled: true })).toEqual({ prior: { used: false, detail: "--no-prior" } });
    const prefill = loadLandscape(h100File, { params: ["workers", "threads", "sequences", "quant"], objective: "prefillTps" });
    expect(landscapePrior(prefill).prior.detail).toMatch(/roofline predicts decodeTps .*not prefillTps/);
    const latency = loadLandscape(h100File, { params: ["workers", "threads", "sequences", "quant"], objective: "decodeTps", direction: "minimize" });
    expect(landscapePrior(latency).prior.used).toBe(false);
    // The same table without its sidecar.
    const copy = join(tmp, "no-sidecar.jsonl");
    writeFileSync(copy, readFileSync(h100File, "utf8"));
    const bare = landscapePrior(loadLandscape(copy, { params: ["workers", "threads", "sequences", "quant"], objective: "decodeTps" }));
    expect(bare.priorMean).toBeUndefined();
    expect(bare.prior.detail).toMatch(/names no hardware profile/);
  });

  it("the 2-core landscapes' sidecars hold a 2-core probe and the model info of files of the recorded sizes", () => {
    const context = loadLandscapeContext(quietFile);
    expect(context.hardware!.cpu.logical).toBe(2);
    expect(context.contextTokens).toBe(48);
    const meta = JSON.parse(readFileSync(quietFile.replace(/\.jsonl$/, ".meta.json"), "utf8"));
    expect(context.models!.map((m) => [m.quant, m.fileBytes])).toEqual(Object.entries(meta.modelFiles).map(([q, f]) => [q, (f as { bytes: number }).bytes]));
    const quiet = loadLandscape(quietFile, { params: PARAMS, objective: "decodeTps" });
    expect(landscapePrior(quiet).prior.detail).toMatch(/^roofline \(devvm-2core\.hardware\.json/);
  });

  it("reaches the tuner: bayes starts at the prior's best configuration", () => {
    const { priorMean } = landscapePrior(h100);
    const byPrior = [...h100.rows].sort((a, b) => priorMean!(b.config) - priorMean!(a.config));
    const first = fractionOfBest(h100, byPrior[0].value);
    const withPrior = [0, 1, 2, 3].map((seed) => replaySeed(h100, "bayes", 1, seed, priorMean).curve[0]);
    expect(withPrior).toEqual([first, first, first, first]);
    // Without the prior the first configuration is a seeded random one.
    const without = [0, 1, 2, 3].map((seed) => replaySeed(h100, "bayes", 1, seed).curve[0]);
    expect(new Set(without).size).toBeGreaterThan(1);
  });
});

describe("paratune replay CLI", () => {
  it("prints per-tuner statistics as JSON", async () => {
    const r = await execa("node", [bin, "replay", "--landscape", tinyFile, "--params", PARAMS.join(","), "--objective", "decodeTps", "--tuner", "random,grid", "--trials", "8", "--seeds", "3", "--json"]);
    const out = JSON.parse(r.stdout);
    expect(out.configurations).toBe(tiny.rows.length);
    expect(out.tuners.map((t: { tuner: string }) => t.tuner)).toEqual(["random", "grid"]);
    expect(out.tuners[0].seeds).toHaveLength(3);
    expect(configKey(out.best.config)).toBe(configKey(tiny.best.config));
  });

  it("uses the sidecar's prior by default, not with --no-prior, and says which", async () => {
    const h100File = fileURLToPath(new URL("../fixtures/landscapes/h100host-qwen05b.jsonl", import.meta.url));
    const argv = ["replay", "--landscape", h100File, "--params", "workers,threads,sequences,quant", "--objective", "decodeTps", "--tuner", "bayes", "--trials", "3", "--seeds", "2"];
    const withPrior = JSON.parse((await execa("node", [bin, ...argv, "--json"])).stdout);
    expect(withPrior.prior).toEqual({ used: true, detail: "roofline (h100host.hardware.json; models q4_0, q8_0; context 48 tokens)" });
    const without = JSON.parse((await execa("node", [bin, ...argv, "--no-prior", "--json"])).stdout);
    expect(without.prior).toEqual({ used: false, detail: "--no-prior" });
    // Same seeds, different first trial: the prior changed what bayes asked.
    expect(withPrior.tuners[0].seeds.map((s: { curve: number[] }) => s.curve[0])).not.toEqual(without.tuners[0].seeds.map((s: { curve: number[] }) => s.curve[0]));
    expect((await execa("node", [bin, ...argv])).stdout).toMatch(/^bayes prior mean: roofline \(h100host\.hardware\.json/m);
    expect((await execa("node", [bin, ...argv, "--no-prior"])).stdout).toMatch(/^bayes prior mean: none \(--no-prior\)$/m);
  });

  it("prints a table for people", async () => {
    const r = await execa("node", [bin, "replay", "--landscape", tinyFile, "--params", PARAMS.join(","), "--objective", "decodeTps", "--tuner", "grid", "--trials", "5", "--seeds", "1"]);
    expect(r.stdout).toMatch(/trials to 95%/);
    expect(r.stdout).toMatch(/^grid\s+\d+/m);
  });

  it("a bad landscape or flag is one line on stderr and exit code 2", async () => {
    const bad = join(tmp, "bad.jsonl");
    writeFileSync(bad, '{"threads":1}\n');
    for (const argv of [
      ["--landscape", bad, "--params", "threads,sequences", "--objective", "decodeTps"],
      ["--landscape", tinyFile, "--params", PARAMS.join(","), "--objective", "decodeTps", "--tuner", "nope"],
      ["--landscape", tinyFile, "--params", PARAMS.join(","), "--objective", "decodeTps", "--trials", "0"],
    ]) {
      const r = await execa("node", [bin, "replay", ...argv], { reject: false });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split("\n")[0]).toMatch(/^paratune: /);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  });
});
