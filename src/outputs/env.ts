// The .env a user's program reads: the recommended values under the names that program expects.
// Writing into an existing .env must never cost the user a key or a comment, and a crash halfway
// must leave the old file whole, so the merge is line-preserving and the write is atomic.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { UserInputError } from "../errors.js";
import { fileSystemError, writeFileAtomically } from "../atomic-file.js";
import type { ParamValue } from "../types.js";
import { formatRme, formatSpeedup, formatSpeedupInterval, formatValue, type Recommendation } from "./recommendation.js";
import { describeConfig } from "../format.js";
import { GPUS_PER_WORKER, workerDevices } from "../gpu-placement.js";
import { commandLine, commandLineOnly, conceptOfVariable, variablesOf, variableValue } from "../workloads/command-variables.js";

export const ENV_STYLES = ["generic", "llama-server", "omp"] as const;
export type EnvStyle = (typeof ENV_STYLES)[number];

/** The concepts a recommendation sets; a style gives each its variable names. */
type Field = "workers" | "threads" | "sequences" | "batch" | "quant" | "gpuLayers" | "gpuDevices" | "splitMode" | "model";

/** Parameter names the study may use for each concept (workloads and command templates differ). */
const FIELD_ALIASES: Record<Exclude<Field, "model">, string[]> = {
  workers: ["workers", "parallelworkers", "processes", "procs"],
  threads: ["threads", "threadsperworker", "nthreads"],
  sequences: ["sequences", "parallelsequences", "parallel", "seqs", "nparallel", "slots"],
  batch: ["batch", "batchsize", "nbatch"],
  quant: ["quant", "quantization"],
  gpuLayers: ["gpulayers", "ngpulayers", "ngl"],
  gpuDevices: ["gpudevices"],
  splitMode: ["splitmode"],
};

const STYLES: Record<EnvStyle, Partial<Record<Field, string[]>>> = {
  generic: {
    workers: ["PARALLEL_WORKERS"],
    threads: ["INFERENCE_NUM_THREADS"],
    sequences: ["PARALLEL_SEQUENCES"],
    batch: ["BATCH_SIZE"],
    model: ["MODEL_PATH"],
    quant: ["MODEL_QUANT"],
    gpuLayers: ["N_GPU_LAYERS"],
    gpuDevices: ["GPU_DEVICES"],
  },
  // llama-server reads LLAMA_ARG_<FLAG> for each flag. It has no notion of several processes,
  // so the worker count goes under a name of ours for the deploy script that starts the instances.
  // Our threads serve prompt processing and generation alike, hence THREADS_BATCH too.
  "llama-server": {
    workers: ["PARATUNE_SERVER_INSTANCES"],
    threads: ["LLAMA_ARG_THREADS", "LLAMA_ARG_THREADS_BATCH"],
    sequences: ["LLAMA_ARG_N_PARALLEL"],
    batch: ["LLAMA_ARG_BATCH"],
    model: ["LLAMA_ARG_MODEL"],
    gpuLayers: ["LLAMA_ARG_N_GPU_LAYERS"],
    gpuDevices: ["PARATUNE_SERVER_DEVICES"],
    splitMode: ["LLAMA_ARG_SPLIT_MODE"],
  },
  // OpenMP and the BLAS libraries each read their own thread count; a process sets them all.
  omp: {
    workers: ["PARALLEL_WORKERS"],
    threads: ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"],
  },
};

/** `--env-map` file: which variables to write each parameter (or `model`) to; null leaves one out. */
export interface EnvMap {
  extends?: EnvStyle;
  vars: Record<string, string | string[] | null>;
}

/**
 * The zod schema of an EnvMap, built on first use: zod takes 60-150 ms to load on the 2-core VM,
 * which every `paratune recommend` would pay while only `--env-map` needs it.
 */
function envMapSchema() {
  const { z } = createRequire(import.meta.url)("zod") as typeof import("zod");
  const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name: letters, digits and _, not starting with a digit");
  return z
    .object({
      extends: z.enum(ENV_STYLES).optional(),
      vars: z.record(z.string().min(1), z.union([envName, z.array(envName).min(1), z.null()])),
    })
    .strict();
}

export function parseEnvStyle(style: string): EnvStyle {
  if ((ENV_STYLES as readonly string[]).includes(style)) return style as EnvStyle;
  throw new UserInputError(`unknown --env-style "${style}"`, `use one of: ${ENV_STYLES.join(", ")}, or --env-map <file> for your own names`);
}

/** Reads and checks an `--env-map` JSON file; any mistake is one line naming the file and the field. */
export function loadEnvMap(path: string): EnvMap {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UserInputError(`cannot read --env-map ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserInputError(`--env-map ${path} is not valid JSON: ${(err as Error).message}`, `example: {"extends": "generic", "vars": {"workers": "MY_WORKERS", "threads": ["OMP_NUM_THREADS"], "quant": null}}`);
  }
  const parsed = envMapSchema().safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new UserInputError(`--env-map ${path}: ${where}: ${issue.message}`, `expected {"extends"?: "${ENV_STYLES.join('" | "')}", "vars": {"<parameter or model>": "NAME" | ["NAME", ...] | null}}`);
  }
  return parsed.data;
}

function fieldOf(param: string): Exclude<Field, "model"> | null {
  const k = param.toLowerCase().replace(/[_-]/g, "");
  for (const [field, aliases] of Object.entries(FIELD_ALIASES)) if (aliases.includes(k)) return field as Exclude<Field, "model">;
  return null;
}

function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9_]/g, "_").toUpperCase();
}

export interface EnvEntry {
  name: string;
  value: string;
  /** One line saying what the value is worth; written as a comment above it. */
  comment: string;
}

export interface EnvBlock {
  header: string[];
  entries: EnvEntry[];
}

export interface EnvOptions {
  style?: EnvStyle;
  map?: EnvMap;
}

/**
 * Names each parameter's variables; generic style writes parameters it does not know under their
 * own names. `concept` says what the parameter sets when its name does not (a command's `t` that
 * feeds OMP_NUM_THREADS is a thread count).
 */
function namesFor(param: string, options: EnvOptions, concept: Exclude<Field, "model"> | null = null, ownName = true): string[] {
  const map = options.map;
  const style = STYLES[map?.extends ?? options.style ?? "generic"];
  if (map && param in map.vars) {
    const v = map.vars[param];
    return v == null ? [] : Array.isArray(v) ? v : [v];
  }
  const field = param === "model" ? "model" : (fieldOf(param) ?? concept);
  if (field && map && field in map.vars) {
    const v = map.vars[field];
    return v == null ? [] : Array.isArray(v) ? v : [v];
  }
  if (field) return style[field] ?? [];
  // A command workload's own parameter: the user named it, so that name is what their program reads.
  return ownName && (map?.extends ?? options.style ?? "generic") === "generic" ? [upperSnake(param)] : [];
}

function effectComment(rec: Recommendation, param: string): string {
  const value = rec.config[param];
  const effect = rec.effects[param];
  const basis = rec.expected.basis;
  if (!effect || effect.baseline === value) return `paratune: ${param}=${value}, as in the baseline`;
  const whole = `whole configuration ${formatSpeedup(rec.speedup)} ${basis}`;
  if (effect.speedup == null) return `paratune: ${param}=${value} (baseline ${effect.baseline}): ${whole}; not ${basis} apart`;
  return `paratune: ${param}=${value} (baseline ${effect.baseline}): ${formatSpeedup(effect.speedup)} ${basis} with the rest equal; ${whole}`;
}

function renderValue(v: ParamValue): string {
  const s = String(v);
  return /^[A-Za-z0-9_./:@%+,=-]*$/.test(s) ? s : `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The variables and their comments for a recommendation, under a style's (or a map's) names. */
export function envBlock(rec: Recommendation, options: EnvOptions = {}): EnvBlock {
  const entries: EnvEntry[] = [];
  const unset: string[] = [];
  const seen = new Set<string>();
  const push = (name: string, value: ParamValue, comment: string) => {
    if (seen.has(name)) throw new UserInputError(`the env mapping writes ${name} twice`, "give each parameter its own variable name in --env-map");
    seen.add(name);
    entries.push({ name, value: renderValue(value), comment });
  };
  if (options.map) {
    const known = new Set([...Object.keys(rec.config), "model"]);
    for (const k of Object.keys(options.map.vars)) {
      const field = fieldOf(k);
      const knownField = field && Object.keys(rec.config).some((p) => fieldOf(p) === field);
      if (!known.has(k) && !knownField) {
        throw new UserInputError(`--env-map names "${k}", which this recommendation does not set`, `it sets: ${[...known].join(", ")}`);
      }
    }
  }
  const command = rec.command ? commandEntries(rec, options, push) : null;
  for (const [param, value] of Object.entries(rec.config)) {
    if (param === "model" || command) continue;
    const names = namesFor(param, options);
    // The quantization is in the model file's name when the style writes the file (llama-server).
    const carriedByModel = fieldOf(param) === "quant" && rec.modelPath !== null && namesFor("model", options).length > 0;
    const carriedByDevices = param === GPUS_PER_WORKER && namesFor("gpuDevices", options).length > 0;
    if (names.length === 0 && !carriedByModel && !carriedByDevices) unset.push(`${param}=${value}`);
    for (const n of names) push(n, value, effectComment(rec, param));
  }
  if (Number(rec.config.gpuLayers ?? 0) > 0) gpuEntries(rec, options, push);
  const modelNames = namesFor("model", options);
  if (rec.modelPath) {
    const quant = rec.config.quant != null ? ` (quant=${rec.config.quant})` : "";
    for (const n of modelNames) push(n, rec.modelPath, `paratune: the model file to load${quant}`);
  }
  const when = rec.createdAt.slice(0, 16).replace("T", " ");
  const value = rec.expected.value == null ? "" : `${rec.objective.metric} ${formatValue(rec.expected.value)}${rec.expected.unit ? " " + rec.expected.unit : ""}${expectedMargin(rec)} ${rec.expected.basis}, `;
  const header = [
    `paratune: ${describeConfig(rec.config)}`,
    rec.speedup == null
      ? `paratune: ${value}no ${rec.expected.basis} speedup over the baseline (${describeConfig(rec.baseline)})`
      : `paratune: ${value}${formatSpeedupInterval(rec.speedup, rec.speedupInterval)} the baseline (${describeConfig(rec.baseline)})`,
    `paratune: source ${rec.source} (${when} UTC), confidence ${rec.confidence.level}: ${rec.confidence.reason}`,
    `paratune: machine ${rec.hardware.summary}`,
  ];
  if (unset.length) header.push(`paratune: not written by this style: ${unset.join(" ")}`);
  if (command) header.push(...command.header);
  return { header, entries };
}

/**
 * Where the offloading workers ran: each one's CUDA_VISIBLE_DEVICES, in worker order and separated
 * by spaces (one worker may see several GPUs, "0,1"), and for llama-server the split mode of a
 * worker spread over several GPUs: llama.cpp's default, the only one the trials could use.
 */
function gpuEntries(rec: Recommendation, options: EnvOptions, push: (name: string, value: ParamValue, comment: string) => void): void {
  const devices = workerDevices(rec.config, rec.hardware.gpuIndices ?? [0]);
  const shared = new Set(devices).size === 1 ? `: all on GPU ${devices[0]}` : "";
  const names = namesFor("gpuDevices", options);
  for (const n of names) push(n, devices.join(" "), `paratune: CUDA_VISIBLE_DEVICES of each worker (instance), in order${shared}, as measured`);
  // The numbers are nvidia-smi's, the PCI bus order; CUDA's own default is fastest first.
  if (names.length > 0 && (rec.hardware.gpuIndices?.length ?? 0) > 1) push("CUDA_DEVICE_ORDER", "PCI_BUS_ID", "paratune: so that CUDA numbers the GPUs as the device lists do (nvidia-smi's order)");
  if (devices.some((d) => d.includes(","))) {
    for (const n of namesFor("splitMode", options)) push(n, "layer", "paratune: each worker splits its layers over the GPUs it sees, as measured");
  }
}

/**
 * A tuned command's variables: each one it set (`--env`, or `VAR={x}` in its command line) under
 * its own name with the configuration filled in, since that is what the program reads; a style
 * other than generic, or a map, adds its names for the parameters it knows (OMP_NUM_THREADS and
 * the BLAS counts for the one feeding a thread-count variable). Parameters that only reach the
 * command line are named in the header with the command line to run.
 */
function commandEntries(
  rec: Recommendation,
  options: EnvOptions,
  push: (name: string, value: ParamValue, comment: string) => void,
): { header: string[]; styleNames: number } {
  const vars = rec.command!;
  const written = new Set<string>();
  for (const [name, template] of Object.entries(vars.env)) {
    const value = variableValue(template, rec.config);
    if (value === null) continue;
    const used = Object.keys(rec.config).filter((p) => variablesOf(vars, p).includes(name));
    const comment = used.length === 0 ? `paratune: ${name} as every trial ran with it` : used.map((p) => effectComment(rec, p)).join("; ");
    push(name, value, comment);
    written.add(name);
  }
  const plainStyle = !options.map && (options.style ?? "generic") === "generic";
  let styleNames = 0;
  if (!plainStyle) {
    for (const [param, value] of Object.entries(rec.config)) {
      const concept = variablesOf(vars, param).map(conceptOfVariable).find((c) => c !== null) ?? null;
      for (const n of namesFor(param, options, concept, false)) {
        styleNames++;
        if (!written.has(n)) push(n, value, effectComment(rec, param));
        written.add(n);
      }
    }
  }
  const header: string[] = [];
  if (!plainStyle && styleNames === 0) {
    const style = options.map?.extends ?? options.style ?? "generic";
    const knows = Object.entries(STYLES[style]).map(([field, names]) => `${field} (${names!.join(", ")})`).join(", ");
    const own = Object.keys(vars.env);
    throw new UserInputError(
      `${options.map ? "--env-map" : `--env-style ${style}`} writes nothing for this command: ${options.map ? "it names" : "the style names"} ${knows}, and none of its parameters (${Object.keys(rec.config).join(", ")}) is one of them`,
      own.length
        ? `leave the style out to write the variables the command set (${own.join(", ")}), or name yours with --env-map`
        : `pass the values to the program with --env NAME={param} when tuning, or name variables with --env-map`,
    );
  }
  const onLine = commandLineOnly(vars, rec.config).filter((p) => plainStyle || namesFor(p, options, null, false).length === 0);
  if (onLine.length) header.push(`paratune: on the command line, not in the environment: ${onLine.map((p) => `${p}=${rec.config[p]}`).join(" ")}`);
  const line = commandLine(vars, rec.config);
  if (line) header.push(`paratune: run: ${line}`);
  return { header, styleNames };
}

/** The block as a fresh .env (what `paratune recommend > .env` prints). */
export function renderEnv(block: EnvBlock): string {
  const lines: string[] = block.header.map((h) => `# ${h}`);
  for (const e of block.entries) lines.push(`# ${e.comment}`, `${e.name}=${e.value}`);
  return lines.join("\n") + "\n";
}

const ASSIGN = /^\s*(export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;
const OURS = /^\s*#\s*paratune:/;

/** Whether an assignment's value opens a quote it does not close on the same line (dotenv multi-line values). */
function opensMultiline(rest: string): string | null {
  const q = rest[0];
  if (q !== '"' && q !== "'" && q !== "`") return null;
  for (let i = 1; i < rest.length; i++) {
    if (rest[i] === "\\" && q === '"') {
      i++;
      continue;
    }
    if (rest[i] === q) return null;
  }
  return q;
}

interface Item {
  lines: string[];
  key?: string;
  exported?: boolean;
}

function parseItems(text: string): Item[] {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const items: Item[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = ASSIGN.exec(lines[i]);
    if (!m) {
      items.push({ lines: [lines[i]] });
      continue;
    }
    const item: Item = { lines: [lines[i]], key: m[2], exported: Boolean(m[1]) };
    const quote = opensMultiline(m[3]);
    if (quote) {
      while (i + 1 < lines.length) {
        item.lines.push(lines[++i]);
        if (lines[i].includes(quote)) break;
      }
    }
    items.push(item);
  }
  return items;
}

/**
 * Writes the block into an existing .env's text: keys we set are replaced where they stand (every
 * occurrence, keeping an `export` prefix), new keys go at the end, and everything else - the user's
 * other keys, comments, blank lines, order, line endings - stays as it was. Our own comment lines
 * start with "# paratune:" and are regenerated each time.
 */
export function mergeEnv(existing: string, block: EnvBlock): string {
  const eol = existing.includes("\r\n") ? "\r\n" : "\n";
  const byName = new Map(block.entries.map((e) => [e.name, e]));
  const placed = new Set<string>();
  const out: string[] = [];
  let headerWritten = false;
  for (const item of parseItems(existing)) {
    if (!item.key && OURS.test(item.lines[0])) continue;
    const entry = item.key ? byName.get(item.key) : undefined;
    if (!entry) {
      out.push(...item.lines);
      continue;
    }
    if (!headerWritten) {
      out.push(...block.header.map((h) => `# ${h}`));
      headerWritten = true;
    }
    out.push(`# ${entry.comment}`, `${item.exported ? "export " : ""}${entry.name}=${entry.value}`);
    placed.add(entry.name);
  }
  const rest = block.entries.filter((e) => !placed.has(e.name));
  if (rest.length || !headerWritten) {
    while (out.length && out[out.length - 1].trim() === "") out.pop();
    if (out.length) out.push("");
    if (!headerWritten) out.push(...block.header.map((h) => `# ${h}`));
    for (const e of rest) out.push(`# ${e.comment}`, `${e.name}=${e.value}`);
  }
  return out.join(eol) + eol;
}

/**
 * Merges the block into the .env at `path` (created when missing) with one atomic rename. A path
 * the file system refuses (read-only, a directory, no permission) is one line saying so.
 */
export async function writeEnvFile(path: string, block: EnvBlock): Promise<void> {
  let existing = "";
  try {
    existing = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fileSystemError(err, path, "the .env");
  }
  writeFileAtomically(path, mergeEnv(existing, block), "the .env");
}

/** The values as a plain record (for `--json` and the API). */
export function envRecord(block: EnvBlock): Record<string, string> {
  const unquote = (v: string) => (v.startsWith('"') && v.endsWith('"') && v.length > 1 ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v);
  return Object.fromEntries(block.entries.map((e) => [e.name, unquote(e.value)]));
}

/** " ±4.2%" for a measured value, " [120-770]" (95% interval) for a predicted one, or nothing. */
function expectedMargin(rec: Recommendation): string {
  const i = rec.expected.interval;
  if (i && i.every(Number.isFinite)) return ` [${formatValue(i[0])}-${formatValue(i[1])}]`;
  const rme = formatRme(rec.expected.rme);
  return rme ? ` ${rme}` : "";
}
