import { afterAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recommend } from "./recommend.js";
import { storeHistory } from "./store.js";
import { feasibleConfigs } from "./space.js";

// Real runs: the tiny synthetic model, a real probe, real llama.cpp trials through node-llama-cpp.
const root = mkdtempSync(join(tmpdir(), "paratune-recommend-"));
process.env.PARATUNE_DATA_DIR = join(root, "data");
process.env.PARATUNE_CACHE_DIR = join(root, "cache");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const model = { shape: "tiny", quants: ["q4_0"] };

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
    expect(rec.speedup).toBeGreaterThan(0);
    expect(answer.outDir).toBeNull();
    // No tuning folder, no journal, no store entry: nothing ran.
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(root, "data", "store"))).toBe(false);
    // The .env says where the numbers came from.
    expect(answer.envText).toMatch(/source predicted/);
    expect(answer.env.PARALLEL_WORKERS).toBe(String(rec.config.workers));
    expect(answer.env.MODEL_PATH).toMatch(/tiny-q4_0.*\.gguf$/);
  });

  it("tunes on a store miss, then answers the same question from the store without a trial", async () => {
    const out = join(root, "out-tuned");
    const first = await recommend({ ...model, budgetMs: 30_000, outDir: out, envStyle: "llama-server" });
    expect(first.recommendation.source).toBe("tuned");
    expect(first.outDir).toBe(out);
    expect(first.recommendation.trials).toBeGreaterThan(0);
    for (const f of ["trials.jsonl", "recommendation.json", ".env", "report.md"]) expect(existsSync(join(out, f)), f).toBe(true);
    const journalLines = readFileSync(join(out, "trials.jsonl"), "utf8").trim().split("\n").length;
    expect(journalLines).toBe(first.recommendation.trials);
    expect(storeHistory(first.storeKey)).toHaveLength(1);

    // A project .env with the user's own keys, merged into by the second answer.
    const envFile = join(root, "project.env");
    writeFileSync(envFile, "# my service\nPORT=8080\nLLAMA_ARG_THREADS=99\n");
    const second = await recommend({ ...model, budgetMs: 30_000, outDir: join(root, "out-second"), envStyle: "llama-server", envFile });
    expect(second.recommendation.source).toBe("store");
    expect(second.outDir).toBeNull();
    expect(second.recommendation.config).toEqual(first.recommendation.config);
    expect(second.recommendation.speedup).toBe(first.recommendation.speedup);
    expect(second.env).toEqual(first.env);
    expect(second.env.LLAMA_ARG_THREADS).toBe(String(first.recommendation.config.threads));
    // No trial ran: no new folder, the first journal unchanged, still one entry in the store.
    expect(existsSync(join(root, "out-second"))).toBe(false);
    expect(readFileSync(join(out, "trials.jsonl"), "utf8").trim().split("\n")).toHaveLength(journalLines);
    expect(storeHistory(first.storeKey)).toHaveLength(1);
    const merged = readFileSync(envFile, "utf8");
    expect(merged).toContain("# my service\nPORT=8080\n");
    expect(merged).toContain(`LLAMA_ARG_THREADS=${first.recommendation.config.threads}\n`);
    expect(merged).not.toContain("LLAMA_ARG_THREADS=99");

    // The same model file under another path is the same model (header hash and size): a store
    // hit, and the answer names the file asked about.
    const moved = join(root, "elsewhere", "my-model.gguf");
    mkdirSync(join(root, "elsewhere"));
    copyFileSync(first.recommendation.modelPath!, moved);
    const byPath = await recommend({ models: [moved], budgetMs: 0 });
    expect(byPath.recommendation.source).toBe("store");
    expect(byPath.recommendation.modelPath).toBe(moved);
    expect(byPath.env.MODEL_PATH).toBe(moved);

    // A different question (longer generations) is not answered by this entry.
    const other = await recommend({ ...model, budgetMs: 0, genTokens: 256 });
    expect(other.recommendation.source).toBe("predicted");
    // --fresh skips the store.
    const fresh = await recommend({ ...model, budgetMs: 0, fresh: true });
    expect(fresh.recommendation.source).toBe("predicted");
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
    expect(readdirSync(join(root, "data", "store"))).toHaveLength(1);
  });
});
