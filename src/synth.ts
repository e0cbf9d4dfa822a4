// Synthetic models: GGUF files with random weights in the exact shapes and tensor types of real
// models. llama.cpp's speed depends on shapes and types, not on weight values, so paratune can
// tune for a model nobody has downloaded. Files are cached by shape and type and reused.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, stat, statfs, unlink } from "node:fs/promises";
import { unlinkSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { FILE_TYPE_NAMES, fileType } from "../fixtures/gguf/file-type.js";
import { ggmlTypeName } from "../fixtures/gguf/ggml-type.js";
import { shapeFromGgufInfo } from "../fixtures/gguf/gguf-shape.js";
import { shapeFromHfConfig } from "../fixtures/gguf/hf-config.js";
import { PRESET_NAMES, presetShape, shapeProblem, type ModelShape } from "../fixtures/gguf/shapes.js";
import { planModel, writeModel, type ModelPlan } from "../fixtures/gguf/synthetic-model.js";
import { UserInputError } from "./errors.js";
import { cacheDir } from "./paths.js";
import { cacheKey } from "./synth-path.js";

export type { ModelShape } from "../fixtures/gguf/shapes.js";
export { PRESET_NAMES, describePresets } from "../fixtures/gguf/shapes.js";
export { FILE_TYPE_NAMES as SYNTH_QUANTS } from "../fixtures/gguf/file-type.js";


export interface SynthesizeOptions {
  /** A preset name ("tinyllama-1.1b"), a .gguf whose shape to copy, a Hugging Face config.json, or a shape. */
  shape: string | ModelShape;
  /** llama.cpp file type: f16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k, ... */
  quant: string;
  /** Folder for the file; the user cache folder (models/) when left out. */
  outDir?: string;
  /** Write the file again even when a matching one exists. */
  force?: boolean;
  /** Called while writing with bytes written so far and the file's final size. */
  onProgress?: (written: number, total: number) => void;
  /** Stops the write (the partial file is removed) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface SynthesizedModel {
  path: string;
  shape: ModelShape;
  quant: string;
  fileBytes: number;
  /** How many tensors have each ggml type, e.g. { q4_K: 135, q6_K: 21, f32: 45 }. */
  tensorTypes: Record<string, number>;
  /** true when an existing file of this shape and type was reused. */
  reused: boolean;
  durationMs: number;
}

const supportedShapes = () =>
  `presets: ${PRESET_NAMES.join(", ")}; or a .gguf model file; or a Hugging Face config.json`;

/** Turns a preset name or file path into a shape, or says in one line what is supported. */
export async function resolveShape(spec: string | ModelShape): Promise<ModelShape> {
  let shape: ModelShape | string;
  if (typeof spec !== "string") {
    shape = spec;
  } else if (presetShape(spec)) {
    shape = presetShape(spec)!;
  } else if (/\.gguf$/i.test(spec) || (extname(spec).toLowerCase() !== ".json" && (await sizeOf(spec)) !== null)) {
    // Loaded here only: node-llama-cpp's GGUF reader costs seconds to import, and a cached
    // preset (what `recommend` asks for on every call) never needs it.
    const { readGgufHeader } = await import("./model-info.js");
    const { info } = await readGgufHeader(spec);
    shape = shapeFromGgufInfo(info, basename(spec).replace(/\.gguf$/i, ""));
    if (typeof shape === "string") throw new UserInputError(`cannot copy the shape of ${spec}: ${shape}`);
  } else if (extname(spec).toLowerCase() === ".json") {
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(await readFile(spec, "utf8"));
    } catch (err) {
      throw new UserInputError(`cannot read ${spec} as a Hugging Face config.json: ${(err as Error).message}`);
    }
    const name = typeof config._name_or_path === "string" && config._name_or_path
      ? basename(config._name_or_path)
      : basename(dirname(resolve(spec)));
    shape = shapeFromHfConfig(config, name);
    if (typeof shape === "string") throw new UserInputError(`cannot use ${spec}: ${shape}`);
  } else {
    throw new UserInputError(`unknown shape "${spec}"`, `use one of the ${supportedShapes()}`);
  }
  const problem = shapeProblem(shape);
  if (problem) throw new UserInputError(`shape ${shape.name} cannot be synthesised: ${problem}`);
  return shape;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function ensureSpace(dir: string, bytes: number): Promise<void> {
  const fs = await statfs(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  const margin = 64 << 20;
  if (free < bytes + margin) {
    throw new UserInputError(
      `not enough disk space in ${dir}: the file needs ${(bytes / 2 ** 20).toFixed(0)} MiB, ${(free / 2 ** 20).toFixed(0)} MiB free`,
      "free some space, pick a smaller shape or quantization, or pass another --out folder",
    );
  }
}

/**
 * Writes through a temporary name and renames when complete, so the final path only ever holds
 * a whole file. The temporary file is removed on failure, on abort and when the process exits.
 */
async function writeAtomically(plan: ModelPlan, path: string, options: SynthesizeOptions): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.partial`;
  const onExit = () => {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or removed
    }
  };
  process.once("exit", onExit);
  try {
    await writeModel(plan, tmp, options.onProgress, options.signal);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      throw new UserInputError(`disk full while writing ${path}`, "free some space or pass another --out folder");
    }
    if (code === "EACCES" || code === "EROFS" || code === "EPERM") {
      throw new UserInputError(`cannot write ${path}: ${(err as Error).message}`, "pass a writable --out folder");
    }
    throw err;
  } finally {
    process.removeListener("exit", onExit);
  }
}

/** Plans the file without writing it: its size and per-tensor types. */
export async function planSynthetic(shapeSpec: string | ModelShape, quant: string): Promise<ModelPlan> {
  const ft = fileType(quant);
  if (!ft) throw new UserInputError(`unknown quantization "${quant}"`, `supported: ${FILE_TYPE_NAMES.join(", ")}`);
  return planModel(await resolveShape(shapeSpec), ft);
}

function countTypes(plan: ModelPlan): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of plan.tensors) {
    const name = ggmlTypeName(t.type);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

export async function synthesize(options: SynthesizeOptions): Promise<SynthesizedModel> {
  const started = performance.now();
  const plan = await planSynthetic(options.shape, options.quant);
  const dir = resolve(options.outDir ?? cacheDir("models"));
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new UserInputError(`cannot create folder ${dir}: ${(err as Error).message}`, "pass a writable --out folder");
  }
  const path = join(dir, cacheKey(plan.shape, plan.fileType.name));
  const existing = await sizeOf(path);
  const reused = !options.force && existing === plan.fileBytes;
  if (!reused) {
    await ensureSpace(dir, plan.fileBytes);
    await writeAtomically(plan, path, options);
  }
  return {
    path,
    shape: plan.shape,
    quant: plan.fileType.name,
    fileBytes: plan.fileBytes,
    tensorTypes: countTypes(plan),
    reused,
    durationMs: performance.now() - started,
  };
}
