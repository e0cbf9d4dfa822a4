// `paratune predict`: what the performance models expect for configurations never run, with an
// interval and the name of the model that made each number.

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { z } from "zod";
import { UserInputError } from "../../errors.js";
import { checkThreadCount } from "../thread-limit.js";
import { readModelInfo } from "../../model-info.js";
import type { Config, HardwareProfile, ModelInfo, Observation, Param, PerformanceModel, Prediction, SearchSpace } from "../../types.js";
import { RooflineModel } from "../../../models/roofline.js";
import { createPerformanceModel, predictionInterval } from "../../../models/index.js";
import { formatBytes, table } from "../../format.js";
import { printJson } from "../format.js";
import { probeWithProgress } from "../probe-progress.js";

interface PredictFlags {
  model: string[];
  workers: string;
  threads?: string;
  sequences: string;
  batch?: string;
  quant?: string;
  gpuLayers?: string;
  hardware?: string;
  context: string;
  observed?: string;
  objective: string;
  json?: boolean;
}

const hardwareSchema = z.object({
  cpu: z.object({ logical: z.number().positive(), physical: z.number().positive(), model: z.string(), smtSiblings: z.array(z.array(z.number())) }).passthrough(),
  limits: z.object({ cpus: z.number().positive(), allowedCpus: z.array(z.number()) }).passthrough(),
  bandwidth: z.object({ curve: z.array(z.object({ threads: z.number(), gbps: z.number() })), peakGbps: z.number() }).passthrough().nullable().optional(),
  gpus: z.array(z.object({ name: z.string() }).passthrough()).optional(),
}).passthrough();

const CONFIG_KEYS = ["workers", "threads", "sequences", "batch", "quant", "gpuLayers"];

/**
 * Measured configurations to fit on: a tuning journal (trials.jsonl: {config, value, measurement})
 * or a landscape (one flat object per line with the parameter fields, the objective and "ok").
 */
function readObserved(file: string, objective: string): Observation[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserInputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: Observation[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new UserInputError(`${file} line ${i + 1}: not valid JSON`, "give a tuning journal (trials.jsonl) or a landscape (.jsonl)");
    }
    if (row.config && typeof row.config === "object") {
      const m = row.measurement as { status?: string } | undefined;
      const value = typeof row.value === "number" ? row.value : null;
      out.push({ config: row.config as Config, status: (m?.status ?? (value === null ? "failed" : "ok")) as Observation["status"], value, fidelity: typeof row.fidelity === "number" ? row.fidelity : undefined });
      return;
    }
    const config: Config = {};
    for (const k of CONFIG_KEYS) if (typeof row[k] === "number" || typeof row[k] === "string") config[k] = row[k] as number | string;
    if (Object.keys(config).length === 0) throw new UserInputError(`${file} line ${i + 1}: no configuration fields (${CONFIG_KEYS.join(", ")})`);
    const ok = row.ok === undefined || row.ok === 1 || row.ok === true;
    const value = ok && typeof row[objective] === "number" && (row[objective] as number) > 0 ? (row[objective] as number) : null;
    out.push({ config, status: value === null ? "failed" : "ok", value });
  });
  if (out.length === 0) throw new UserInputError(`${file} has no measured configurations`);
  return out;
}

/** The smallest space holding every configuration seen or asked about, for the GP's encoding. */
function spaceOf(configs: Config[]): SearchSpace {
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))];
  const params: Param[] = keys.map((name) => {
    const values = [...new Set(configs.map((c) => c[name]).filter((v) => v !== undefined))];
    if (values.every((v) => typeof v === "number")) return { name, kind: "ordinal", values: (values as number[]).sort((a, b) => a - b) };
    return { name, kind: "categorical", values: values.map(String).sort() };
  });
  return { params, constraints: [] };
}

/** "1,2,4" -> [1, 2, 4]; every value a positive integer. */
function intList(flag: string, text: string, min = 1): number[] {
  const parts = text.split(",").map((s) => s.trim()).filter(Boolean);
  const values = parts.map(Number);
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min)) {
    throw new UserInputError(`${flag} must be ${min === 0 ? "non-negative" : "positive"} integers, comma-separated; got "${text}"`, `e.g. ${flag} 1,2,4`);
  }
  return [...new Set(values)];
}

function readHardware(file: string): HardwareProfile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserInputError(`cannot read hardware profile ${file}: ${code ?? (err as Error).message}`, "write one with `paratune probe --json > profile.json`");
  }
  // Only what the roofline reads is required; a profile from an older paratune still works.
  const parsed = hardwareSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserInputError(`${file} is not a hardware profile (${issue.path.join(".") || "top level"}: ${issue.message})`, "write one with `paratune probe --json > profile.json`");
  }
  const p = json as Partial<HardwareProfile>;
  if (!p.bandwidth) process.stderr.write(`paratune: ${file} has no bandwidth curve; predictions use a generic one and are wider\n`);
  return { gpus: [], gpuLinks: [], warnings: [], ...p } as HardwareProfile;
}

async function readModels(paths: string[]): Promise<ModelInfo[]> {
  const infos: ModelInfo[] = [];
  for (const path of paths) {
    try {
      infos.push(await readModelInfo(path));
    } catch (err) {
      if (err instanceof UserInputError) throw err;
      throw new UserInputError(`cannot read model ${path}: ${(err as Error).message}`, "give a GGUF file (paratune synth makes one of any shape)");
    }
  }
  const quants = infos.map((m) => m.quant);
  const twice = quants.find((q, i) => quants.indexOf(q) !== i);
  if (twice) throw new UserInputError(`two model files have quant ${twice}`, "give one --model per quantization");
  return infos;
}

interface Row {
  config: Config;
  prediction: Prediction;
  interval: [number, number];
  speedup: number;
  bound: string;
}

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .description("Predict decode throughput for configurations never run, with a 95% interval and the model that made it.")
    .requiredOption("--model <gguf...>", "model file(s); one per quantization to compare with --quant")
    .option("--workers <list>", "worker processes, comma-separated", "1")
    .option("--threads <list>", "threads per worker, comma-separated (default: usable cores / workers)")
    .option("--sequences <list>", "parallel sequences per worker, comma-separated", "1")
    .option("--batch <n>", "batch size (tokens per decode pass); default: all sequences in one pass")
    .option("--quant <list>", "quantizations to predict, comma-separated (default: every --model)")
    .option("--gpu-layers <list>", "layers offloaded to the GPU, comma-separated")
    .option("--hardware <profile.json>", "predict for another machine, from its `paratune probe --json`; default: probe this one")
    .option("--context <tokens>", "average context per sequence while decoding (prompt + half the generated tokens)", "512")
    .option("--observed <file>", "measured trials to calibrate on: a tuning journal (trials.jsonl) or a landscape (.jsonl)")
    .option("--objective <field>", "the metric field of a landscape given to --observed", "decodeTps")
    .option("--json", "print the predictions as JSON")
    .action(async (flags: PredictFlags) => {
      const grid = readGrid(flags);
      const models = await readModels(flags.model);
      const quants = flags.quant === undefined ? models.map((m) => m.quant) : flags.quant.split(",").map((q) => q.trim().toLowerCase()).filter(Boolean);
      for (const q of quants) {
        if (!models.some((m) => m.quant === q)) {
          throw new UserInputError(`no --model file has quant ${q}`, `the model files given are ${models.map((m) => m.quant).join(", ")}`);
        }
      }
      // The bandwidth curve is cached per machine by the probe, so this is slow only once.
      const hardware = flags.hardware ? readHardware(flags.hardware) : await probeWithProgress({ bandwidth: true }, !flags.json && process.stderr.isTTY, "measuring bandwidth");
      const usable = Math.max(1, Math.floor(hardware.limits.cpus + 1e-9));
      const withQuant = (c: Config, q: string): Config => (models.length > 1 || flags.quant !== undefined ? { ...c, quant: q } : c);
      const baselineConfig = withQuant({ workers: 1, threads: usable, sequences: 1 }, quants[0]);
      const configs = quants.flatMap((q) => gridConfigs(grid, usable, (c) => withQuant(c, q)));
      const p = predictAll({ hardware, models, contextTokens: grid.contextTokens, observedFile: flags.observed, objective: flags.objective, configs, baselineConfig });
      if (flags.json) {
        printJson({
          hardware: { fingerprint: hardware.fingerprint, cpu: hardware.cpu.model, usableCpus: hardware.limits.cpus, peakGbps: hardware.bandwidth?.peakGbps ?? null },
          models: models.map((m) => ({ path: m.path, quant: m.quant, weightBytes: m.weightBytes, parameterCount: m.parameterCount })),
          contextTokens: grid.contextTokens,
          observed: p.observedCount,
          baseline: { config: baselineConfig, ...p.baseline },
          predictions: p.rows.map((r) => ({ config: r.config, ...r.prediction, interval95: r.interval, speedup: r.speedup, bound: r.bound })),
        });
      } else {
        process.stdout.write(`${renderPredictions(hardware, models, grid, p, flags.observed, usable)}\n`);
      }
    });
}

/** The grid the flags ask about (threads are per worker count, so they come later). */
interface Grid {
  workers: number[];
  threads?: number[];
  sequences: number[];
  contextTokens: number;
  batch?: number;
  gpuLayers: (number | undefined)[];
}

function readGrid(flags: PredictFlags): Grid {
  return {
    workers: intList("--workers", flags.workers),
    threads: flags.threads === undefined ? undefined : intList("--threads", flags.threads),
    sequences: intList("--sequences", flags.sequences),
    contextTokens: intList("--context", flags.context, 0)[0],
    batch: flags.batch === undefined ? undefined : intList("--batch", flags.batch)[0],
    gpuLayers: flags.gpuLayers === undefined ? [undefined] : intList("--gpu-layers", flags.gpuLayers, 0),
  };
}

/** Every configuration of the grid for one quant (`base` adds it); threads default to usable cores / workers. */
function gridConfigs(grid: Grid, usable: number, base: (c: Config) => Config): Config[] {
  const configs: Config[] = [];
  for (const w of grid.workers) {
    for (const t of grid.threads ?? [Math.max(1, Math.floor(usable / w))]) {
      checkThreadCount(w, t, usable);
      for (const s of grid.sequences) {
        for (const g of grid.gpuLayers) {
          const config = base({ workers: w, threads: t, sequences: s });
          if (grid.batch !== undefined) config.batch = grid.batch;
          if (g !== undefined) config.gpuLayers = g;
          configs.push(config);
        }
      }
    }
  }
  return configs;
}

interface Predictions {
  baseline: Prediction;
  rows: Row[];
  observedCount: number;
}

function predictAll(input: {
  hardware: HardwareProfile;
  models: ModelInfo[];
  contextTokens: number;
  observedFile?: string;
  objective: string;
  configs: Config[];
  baselineConfig: Config;
}): Predictions {
  const { hardware, models, contextTokens, configs, baselineConfig } = input;
  const roofline = new RooflineModel({ hardware, models, contextTokens });
  // With measured trials the best available model answers (calibrated roofline or the GP on
  // its residuals, chosen by cross-validation); without, the roofline prior.
  let model: PerformanceModel = roofline;
  let observedCount = 0;
  if (input.observedFile) {
    const observed = readObserved(input.observedFile, input.objective);
    observedCount = observed.length;
    const adaptive = createPerformanceModel({ hardware, models, contextTokens, space: spaceOf([...observed.map((o) => o.config), ...configs, baselineConfig]) });
    adaptive.fit(observed);
    model = adaptive;
  }
  const baseline = model.predict(baselineConfig);
  const rows = configs.map((config): Row => {
    const prediction = model.predict(config);
    return { config, prediction, interval: predictionInterval(prediction), speedup: prediction.mean / baseline.mean, bound: roofline.breakdown(config).bound };
  });
  return { baseline, rows, observedCount };
}

function renderPredictions(hardware: HardwareProfile, models: ModelInfo[], grid: Grid, p: Predictions, observedFile: string | undefined, usable: number): string {
  const bw = hardware.bandwidth ? `${hardware.bandwidth.peakGbps.toFixed(1)} GB/s peak bandwidth` : "no bandwidth curve (generic)";
  const head = [
    `${hardware.cpu.model}: ${hardware.limits.cpus} usable CPUs, ${bw}`,
    ...models.map((m) => `${m.name}${m.name.includes(m.quant) ? "" : ` ${m.quant}`}: ${formatBytes(m.weightBytes)} of weights, ${(m.parameterCount / 1e9).toFixed(2)}B parameters`),
    ...(observedFile ? [`fitted on ${p.observedCount} measured configurations from ${observedFile}`] : []),
    `baseline (1 worker x ${usable} threads x 1 sequence): ${p.baseline.mean.toFixed(1)} tok/s (${p.baseline.source})`,
    "",
  ];
  const rows = p.rows;
  const keys = ["workers", "threads", "sequences", ...(rows.some((r) => r.config.quant !== undefined) ? ["quant"] : []), ...(grid.batch !== undefined ? ["batch"] : []), ...(grid.gpuLayers[0] !== undefined ? ["gpuLayers"] : [])];
  const out = [[...keys, "decode tok/s", "95% interval", "speedup", "bound", "model"]];
  for (const r of rows) {
    out.push([
      ...keys.map((k) => String(r.config[k])),
      r.prediction.mean.toFixed(1),
      `${r.interval[0].toFixed(1)}-${r.interval[1].toFixed(1)}`,
      `${r.speedup.toFixed(2)}x`,
      r.bound,
      r.prediction.source,
    ]);
  }
  return `${head.join("\n")}${table(out)}`;
}
