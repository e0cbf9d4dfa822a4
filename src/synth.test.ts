import { mkdtemp, readdir, rm, writeFile, truncate, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLlama, type Llama } from "node-llama-cpp";
import { encodeHeader, kv } from "../fixtures/gguf/gguf-writer.js";
import { UserInputError } from "./errors.js";
import { readModelInfo } from "./model-info.js";
import { SYNTH_QUANTS, synthesize } from "./synth.js";
import { syntheticModelPath } from "./synth-path.js";

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
    // Random weights may sample the end-of-generation token first; it is still a generated token.
    const options = { temperature: 0.8, seed: 1, yieldEogToken: true };
    for await (const t of seq.evaluate(model.tokenize("The quick brown fox"), options)) {
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
    // 4 layers x 7 weights + token_embd + output are q4_0 except the output (q6_K); 9 norms are f32
    expect(b.tensorTypes).toEqual({ q4_0: 29, q6_K: 1, f32: 9 });
    // Found without planning the model again (what recommend()'s store hit does).
    expect(syntheticModelPath("tiny", "Q4_0", dir)).toBe(a.path);
    expect(syntheticModelPath("tiny", "q8_0", dir)).not.toBe(a.path);
    expect(syntheticModelPath("model.gguf", "q4_0", dir)).toBeNull();
  });

  it("leaves no partial file when writing fails midway", async () => {
    const out = await mkdtemp(join(dir, "fail-"));
    let calls = 0;
    const failing = synthesize({
      shape: "tinyllama-1.1b", quant: "q4_0", outDir: out,
      onProgress: () => { if (++calls === 2) throw new Error("stopped on purpose"); },
    });
    await expect(failing).rejects.toThrow(/stopped on purpose/);
    expect(await readdir(out)).toEqual([]);
  });

  it("stops on an abort signal and removes the partial file", async () => {
    const out = await mkdtemp(join(dir, "abort-"));
    const abort = new AbortController();
    const pending = synthesize({
      shape: "tinyllama-1.1b", quant: "q4_0", outDir: out, signal: abort.signal,
      onProgress: () => abort.abort(new Error("user stopped it")),
    });
    await expect(pending).rejects.toThrow(/user stopped it/);
    expect(await readdir(out)).toEqual([]);
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

describe("shapes from files", () => {
  it("takes a Hugging Face config.json (Qwen2, tied embeddings, q/k/v bias) that loads and generates", async () => {
    const cfgDir = await mkdtemp(join(dir, "hf-"));
    const cfg = join(cfgDir, "config.json");
    await writeFile(cfg, JSON.stringify({
      _name_or_path: "tiny-qwen", architectures: ["Qwen2ForCausalLM"], hidden_size: 128, num_hidden_layers: 2,
      intermediate_size: 384, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 1024,
      max_position_embeddings: 4096, rope_theta: 1000000, rms_norm_eps: 1e-6, tie_word_embeddings: true,
    }));
    const m = await synthesize({ shape: cfg, quant: "q4_k_m", outDir: dir });
    expect(m.shape).toMatchObject({ name: "tiny-qwen", architecture: "qwen2", attentionBias: true, tiedEmbeddings: true });
    const info = await readModelInfo(m.path);
    expect(info).toMatchObject({ architecture: "qwen2", embeddingLength: 128, kvHeads: 2, vocabSize: 1024, contextLength: 4096 });
    expect(await generate(m.path, 3)).toHaveLength(3);
  });

  it("rejects a config.json of an unsupported architecture, naming the supported ones", async () => {
    const cfg = join(dir, "gemma.json");
    await writeFile(cfg, JSON.stringify({ architectures: ["Gemma2ForCausalLM"], hidden_size: 256 }));
    await expect(synthesize({ shape: cfg, quant: "q4_0", outDir: dir })).rejects.toThrow(/Gemma2ForCausalLM.*LlamaForCausalLM/);
  });

  it("copies the shape of an existing GGUF: same size in the same type", async () => {
    const a = await synthesize({ shape: "tiny", quant: "q6_k", outDir: dir });
    const copyDir = await mkdtemp(join(dir, "copy-"));
    const b = await synthesize({ shape: a.path, quant: "q6_k", outDir: copyDir });
    expect(b.fileBytes).toBeGreaterThan(a.fileBytes - 200); // only general.name differs
    expect(b.fileBytes).toBeLessThan(a.fileBytes + 200);
    expect({ ...b.shape, name: "" }).toEqual({ ...a.shape, name: "" });
  });

  it("refuses a GGUF of an unsupported architecture, naming the supported ones", async () => {
    const path = join(dir, "mamba.gguf");
    await writeFile(path, encodeHeader([kv.str("general.architecture", "mamba"), kv.u32("mamba.block_count", 2)], []));
    const err = await synthesize({ shape: path, quant: "q4_0", outDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect(err.message).toMatch(/"mamba" is not supported \(supported: llama, qwen2\)/);
  });

  it("refuses a truncated GGUF as a shape source", async () => {
    const a = await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir });
    const cut = join(dir, "cut-header.gguf");
    await copyFile(a.path, cut);
    await truncate(cut, 5000);
    const err = await synthesize({ shape: cut, quant: "q4_0", outDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(UserInputError);
  });
});

describe("tokenizer", () => {
  it("round-trips text through tokenize and detokenize, bytes included", async () => {
    const m = await synthesize({ shape: "tiny", quant: "q8_0", outDir: dir });
    const model = await llama.loadModel({ modelPath: m.path });
    try {
      const text = "Hello world, naïve café ✓ 123";
      const tokens = model.tokenize(text);
      expect(tokens.length).toBeGreaterThan(3);
      expect(tokens.length).toBeLessThan(Buffer.byteLength(text)); // pieces merge, not only bytes
      expect(model.detokenize(tokens)).toBe(text);
    } finally {
      await model.dispose();
    }
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
