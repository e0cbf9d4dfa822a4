import { mkdtemp, readdir, rm, writeFile, truncate, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLlama, type Llama } from "node-llama-cpp";
import { UserInputError } from "./errors.js";
import { readModelInfo } from "./model-info.js";
import { SYNTH_QUANTS, synthesize } from "./synth.js";

let dir: string;
let llama: Llama;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "paratune-synth-"));
  llama = await getLlama({ gpu: false, logLevel: "error" as any });
});
afterAll(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function generate(path: string, n: number): Promise<number[]> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const ctx = await model.createContext({ sequences: 4, contextSize: 512, threads: 1 });
    const seq = ctx.getSequence();
    const tokens: number[] = [];
    for await (const t of seq.evaluate(model.tokenize("The quick brown fox"), { temperature: 0.8, seed: 1 })) {
      tokens.push(t);
      if (tokens.length >= n) break;
    }
    await ctx.dispose();
    return tokens;
  } finally {
    await model.dispose();
  }
}

describe("synthesize", () => {
  it.each(SYNTH_QUANTS)("tiny %s loads in node-llama-cpp and generates tokens", async (quant) => {
    const m = await synthesize({ shape: "tiny", quant, outDir: dir });
    expect(m.reused).toBe(false);
    const info = await readModelInfo(m.path);
    expect(info.fileBytes).toBe(m.fileBytes);
    expect(info.quant).toBe(quant);
    expect(info.layers).toBe(4);
    const tokens = await generate(m.path, 4);
    expect(tokens).toHaveLength(4);
  });

  it("reuses a cached file of the same shape and type", async () => {
    const a = await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir });
    const b = await synthesize({ shape: "tiny", quant: "Q4_0", outDir: dir });
    expect(b.path).toBe(a.path);
    expect(b.reused).toBe(true);
  });

  it("rejects an unknown preset and quantization with what is supported, writing nothing", async () => {
    const empty = await mkdtemp(join(dir, "bad-"));
    await expect(synthesize({ shape: "gpt-9", quant: "q4_0", outDir: empty })).rejects.toThrow(/unknown shape "gpt-9"/);
    await expect(synthesize({ shape: "gpt-9", quant: "q4_0", outDir: empty })).rejects.toBeInstanceOf(UserInputError);
    const err = await synthesize({ shape: "tiny", quant: "q9_z", outDir: empty }).catch((e) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect(`${err.message} ${err.hint}`).toMatch(/q9_z.*q4_k_m/);
    expect(await readdir(empty)).toEqual([]);
  });
});

describe("readModelInfo", () => {
  it("describes a synthetic model from its header", async () => {
    const m = await synthesize({ shape: "tiny", quant: "q8_0", outDir: dir });
    const info = await readModelInfo(m.path);
    expect(info).toMatchObject({
      architecture: "llama", quant: "q8_0", layers: 4, embeddingLength: 256, feedForwardLength: 768,
      heads: 8, kvHeads: 4, vocabSize: 2048, contextLength: 2048,
    });
    // 4 layers x (K + V) x 4 kv heads x 32 dims x 2 bytes
    expect(info.kvBytesPerToken).toBe(4 * 2 * 4 * 32 * 2);
    expect(info.weightBytes).toBeLessThan(info.fileBytes);
    expect(info.parameterCount).toBeGreaterThan(4_000_000);
    expect(info.identity).toMatch(/^[0-9a-f]{16}$/);
  });

  it("rejects a truncated file and a file that is not GGUF", async () => {
    const m = await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir });
    const cut = join(dir, "cut.gguf");
    await copyFile(m.path, cut);
    await truncate(cut, Math.floor(m.fileBytes / 2));
    await expect(readModelInfo(cut)).rejects.toThrow(/truncated/);
    const junk = join(dir, "junk.gguf");
    await writeFile(junk, "not a model at all");
    await expect(readModelInfo(junk)).rejects.toBeInstanceOf(UserInputError);
    await expect(readModelInfo(join(dir, "missing.gguf"))).rejects.toThrow(/cannot read model file/);
  });
});
