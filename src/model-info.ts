// What paratune needs to know about a model file, read through node-llama-cpp's GGUF reader and
// GgufInsights rather than a parser of our own.
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import type { GgufFileInfo, GgufInsights } from "node-llama-cpp";
import { UserInputError } from "./errors.js";
import type { ModelInfo } from "./types.js";

// node-llama-cpp is imported on the first header read, not with this module: loading it costs
// seconds, and recommend()'s store hit (which reaches this module through the model sources)
// must not pay that.
const nodeLlamaCpp = () => import("node-llama-cpp");

/** llama.cpp's file type name in lower case ("q4_k_m"), from general.file_type. */
export async function fileTypeName(id: number | undefined): Promise<string> {
  if (id == null) return "unknown";
  const { GgufFileType } = await nodeLlamaCpp();
  const name = (GgufFileType as unknown as Record<number, string>)[id];
  return name ? name.replace(/^(MOSTLY|ALL)_/, "").toLowerCase() : `ftype-${id}`;
}

/** Reads a GGUF header; a missing, truncated or foreign file is the user's mistake, said in one line. */
export async function readGgufHeader(
  path: string,
): Promise<{ info: GgufFileInfo; insights: GgufInsights; fileBytes: number }> {
  let fileBytes: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error("not a regular file");
    fileBytes = st.size;
  } catch (err) {
    throw new UserInputError(`cannot read model file ${path}: ${(err as Error).message}`, "pass the path of a .gguf file");
  }
  let info: GgufFileInfo;
  try {
    const { readGgufFileInfo } = await nodeLlamaCpp();
    info = await readGgufFileInfo(path, { logWarnings: false, sourceType: "filesystem", spliceSplitFiles: false });
  } catch (err) {
    throw new UserInputError(
      `${path} is not a readable GGUF file (${(err as Error).message.split("\n")[0]})`,
      "pass a complete llama.cpp .gguf model file",
    );
  }
  // A header cut short, or one written by something other than llama.cpp, may parse without the
  // metadata every model has; GgufInsights would fail on it with a TypeError.
  if (!info.metadata?.general?.architecture) {
    throw new UserInputError(`${path} is not a complete GGUF model (${fileBytes} bytes; its header names no architecture)`, "pass a complete llama.cpp .gguf model file, or make one with paratune synth");
  }
  let insights: GgufInsights;
  try {
    insights = await (await nodeLlamaCpp()).GgufInsights.from(info);
  } catch (err) {
    throw new UserInputError(`${path} is not a usable GGUF model (${(err as Error).message.split("\n")[0]})`, "pass a complete llama.cpp .gguf model file");
  }
  // The header lists every tensor: a file shorter than header + tensors lost its tail. (The
  // reader does not notice a cut inside the header either, so compare with its end offset.)
  const expected = (info.infoEndOffset ?? 0) + insights.modelSize;
  if (fileBytes < (info.infoEndOffset ?? 0) || fileBytes < expected) {
    throw new UserInputError(
      `${path} is truncated: ${fileBytes} bytes, but its header describes ${Math.max(expected, info.infoEndOffset ?? 0)}`,
      "download or synthesize the file again",
    );
  }
  return { info, insights, fileBytes };
}

async function headerHash(path: string, headerBytes: number, fileBytes: number): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(headerBytes);
    await fh.read(buf, 0, headerBytes, 0);
    return createHash("sha256").update(buf).update(`:${fileBytes}`).digest("hex").slice(0, 16);
  } finally {
    await fh.close();
  }
}

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v) && v.length > 0) return Math.max(...v.map(Number)); // per-layer values
  return undefined;
}

export async function readModelInfo(path: string): Promise<ModelInfo> {
  const { info, insights, fileBytes } = await readGgufHeader(path);
  const headerBytes = info.infoEndOffset ?? 0;
  const weightBytes = insights.modelSize;
  const general = info.metadata.general;
  const arch = info.architectureMetadata as Record<string, any>;
  const embeddingLength = num(arch.embedding_length) ?? 0;
  const heads = num(arch.attention?.head_count) ?? 0;
  const kvHeads = num(arch.attention?.head_count_kv) ?? heads;
  const headDim = heads > 0 ? embeddingLength / heads : 0;
  const keyLength = num(arch.attention?.key_length) ?? headDim;
  const valueLength = num(arch.attention?.value_length) ?? headDim;
  const layers = num(arch.block_count) ?? insights.totalLayers;
  const tokens = (info.metadata.tokenizer as any)?.ggml?.tokens as unknown[] | undefined;
  return {
    path,
    name: general?.name ?? basename(path),
    architecture: String(general?.architecture ?? "unknown"),
    quant: await fileTypeName(num(general?.file_type)),
    fileBytes,
    weightBytes,
    parameterCount: insights.totalParameters,
    layers,
    contextLength: num(arch.context_length) ?? insights.trainContextSize ?? 0,
    embeddingLength,
    feedForwardLength: num(arch.feed_forward_length) ?? 0,
    heads,
    kvHeads,
    vocabSize: num(arch.vocab_size) ?? tokens?.length ?? 0,
    kvBytesPerToken: layers * kvHeads * (keyLength + valueLength) * 2,
    identity: await headerHash(path, headerBytes, fileBytes),
  };
}
