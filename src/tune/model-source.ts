// The model files a llama tuning run compares: the user's GGUF files, one per quantization, or
// synthetic ones of a preset shape when no file is given (the speed of llama.cpp depends on a
// model's shape and quantization, not on what its weights say).

import { UserInputError } from "../errors.js";
import { readModelInfo } from "../model-info.js";
import { synthesize } from "../synth.js";
import type { ModelInfo } from "../types.js";
import type { Budget } from "./budget.js";

import { DEFAULT_QUANTS, DEFAULT_SHAPE } from "../synth-path.js";

export { DEFAULT_SHAPE, DEFAULT_QUANTS };

export interface ResolvedModel {
  info: ModelInfo;
  /** "<shape> <quant>" when paratune synthesised the file. */
  synthetic?: string;
}

export interface ModelSourceOptions {
  models?: string[];
  shape?: string;
  quants?: string[];
  note: (s: string) => void;
  phase: (s: string) => void;
  signal?: AbortSignal;
  budget: Budget;
}

export async function resolveModels(o: ModelSourceOptions): Promise<ResolvedModel[]> {
  if (o.models && o.models.length > 0) {
    if (o.quants) throw new UserInputError("--quant picks quantizations to synthesise; with --model the files are the variants", "pass one --model per quantization instead");
    const out: ResolvedModel[] = [];
    for (const path of o.models) out.push({ info: await readModelInfo(path) });
    const seen = new Map<string, string>();
    for (const m of out) {
      const other = seen.get(m.info.quant);
      if (other) {
        throw new UserInputError(
          `${other} and ${m.info.path} are both ${m.info.quant}`,
          "pass one file per quantization of one model (the quant parameter chooses among them)",
        );
      }
      seen.set(m.info.quant, m.info.path);
    }
    const archs = new Set(out.map((m) => `${m.info.architecture} ${m.info.layers}x${m.info.embeddingLength}`));
    if (archs.size > 1) throw new UserInputError(`the model files are different models (${[...archs].join(", ")})`, "pass quantization variants of one model");
    return out;
  }
  const shape = o.shape ?? DEFAULT_SHAPE;
  const quants = o.quants && o.quants.length > 0 ? o.quants : DEFAULT_QUANTS;
  if (!o.shape) o.note(`no model given: tuning a synthetic ${shape} model (${quants.join(", ")}); pass --model <file.gguf> to tune your own`);
  const out: ResolvedModel[] = [];
  for (const quant of quants) {
    // Interrupted: stop at the variants already written; the study then ends at once and the
    // (empty) results are still written.
    if (o.signal?.aborted && out.length > 0) break;
    if (o.budget.expired() && out.length > 0) {
      o.note(`the budget ran out while synthesising; ${quant} and later variants are left out`);
      break;
    }
    o.phase(`synthesising ${shape} ${quant}`);
    const synth = await synthesize({
      shape,
      quant,
      onProgress: (written, total) => o.phase(`synthesising ${shape} ${quant} ${Math.round((100 * written) / total)}%`),
    });
    out.push({ info: await readModelInfo(synth.path), synthetic: `${shape} ${quant}` });
  }
  return out;
}
