// The store of past tunings, so that asking again on the same machine for the same model answers
// at once instead of measuring again. One JSON file per key under the user data folder; a
// lockfile serialises read-modify-write between processes (two `paratune tune` runs finishing
// together must both be kept), and every write is an atomic rename so a reader never sees half a
// file and needs no lock.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { dataDir } from "./paths.js";
import type { Param, TuneResult, WorkloadDescription } from "./types.js";

/**
 * What makes two tunings interchangeable: the same machine (probe fingerprint), the same model
 * (GGUF header hash and size, one per quantization variant; or the command), the same workload
 * settings (prompt and generation lengths, context), and the same objective.
 */
export interface StoreKey {
  fingerprint: string;
  model: string;
  workload: string;
  objective: string;
}

export interface StoreEntry {
  savedAt: string;
  key: StoreKey;
  result: TuneResult;
}

interface StoreFile {
  version: 1;
  key: StoreKey;
  /** Oldest first; the newest is the answer. */
  entries: StoreEntry[];
}

export interface StoreOptions {
  /** Folder of the store; defaults to `dataDir("store")` (PARATUNE_DATA_DIR overrides it). */
  dir?: string;
  /** Entries kept per key; older ones are dropped. */
  maxEntries?: number;
  /** Told, in one line naming the file and the remedy, about a store file or entry that cannot be used. */
  onProblem?: (message: string) => void;
}

const DEFAULT_MAX_ENTRIES = 10;

/**
 * The models' identities (sorted, so the order of --quant does not matter), or the command's: its
 * template, the variables it sets, its metric and the values its placeholders may take. A command
 * tuned over other values, or reading its metric another way, is another question.
 */
export function modelIdentity(workload: WorkloadDescription, params: Param[] = []): string {
  if (workload.kind === "command") {
    const env = Object.entries(workload.env ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const space = [...params].sort((a, b) => a.name.localeCompare(b.name));
    const extra = env.length > 0 || workload.metric !== undefined || space.length > 0 ? JSON.stringify({ env, metric: workload.metric, space }) : "";
    return `command:${sha((workload.command ?? "") + extra).slice(0, 16)}`;
  }
  const ids = (workload.models ?? []).map((m) => m.identity).sort();
  return ids.join("+");
}

/**
 * Workload settings that change which configuration is fastest: the length of prompts and of
 * generations, and a latency limit (the best under 50 ms per token is not the best without one).
 * Repetitions and derived sizes only change how sure a result is, so a run with
 * --reps 5 answers a later question asked with the default.
 */
export const KEY_SETTINGS = ["promptTokens", "genTokens", "maxLatencyMs"] as const;

/** The workload's kind and its key settings in a fixed order. */
export function workloadIdentity(workload: WorkloadDescription): string {
  const settings = KEY_SETTINGS.filter((k) => workload.settings[k] !== undefined)
    .map((k) => `${k}=${workload.settings[k]}`)
    .join(",");
  return `${workload.kind}:${settings}`;
}

export function storeKey(fingerprint: string, workload: WorkloadDescription, params: Param[] = []): StoreKey {
  return {
    fingerprint,
    model: modelIdentity(workload, params),
    workload: workloadIdentity(workload),
    objective: `${workload.objective.metric}:${workload.objective.direction}`,
  };
}

export function storeKeyOf(result: TuneResult): StoreKey {
  return storeKey(result.hardware.fingerprint, result.workload, result.params);
}

function sha(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function keyString(key: StoreKey): string {
  return [key.fingerprint, key.model, key.workload, key.objective].join("|");
}

function storeDir(options: StoreOptions): string {
  return options.dir ?? dataDir("store");
}

/**
 * The options with problems (a damaged store file) told to `note`, each once however often the
 * file is looked up, unless the caller already listens for them.
 */
export function reportingProblems(options: StoreOptions | undefined, note: (message: string) => void): StoreOptions {
  if (options?.onProblem) return options;
  const said = new Set<string>();
  return {
    ...options,
    onProblem: (problem) => {
      if (!said.has(problem)) note(problem);
      said.add(problem);
    },
  };
}

/** The file that holds one key's entries. */
export function storeFile(key: StoreKey, options: StoreOptions = {}): string {
  return join(storeDir(options), `${sha(keyString(key)).slice(0, 24)}.json`);
}

const RankedSchema = z.object({ config: z.record(z.union([z.number(), z.string()])) }).passthrough();

/** The parts of a stored TuneResult that answering from the store reads. */
const StoredResultSchema = z
  .object({
    tuner: z.string(),
    hardware: z.object({ fingerprint: z.string() }).passthrough(),
    workload: z
      .object({
        kind: z.enum(["llama", "command"]),
        objective: z.object({ metric: z.string(), direction: z.enum(["maximize", "minimize"]) }),
        settings: z.record(z.unknown()),
      })
      .passthrough(),
    params: z.array(z.unknown()),
    trials: z.array(z.unknown()),
    baseline: RankedSchema,
    best: RankedSchema.nullable(),
    confidence: z.object({ level: z.string(), reason: z.string() }).passthrough(),
  })
  .passthrough();

const StoreEntrySchema = z.object({
  savedAt: z.string(),
  key: z.object({ fingerprint: z.string(), model: z.string(), workload: z.string(), objective: z.string() }),
  result: StoredResultSchema,
});

/** A key's file as written: its entries are checked one by one, so one bad entry costs only itself. */
const StoreFileSchema = z.object({ version: z.literal(1), key: z.unknown(), entries: z.array(z.unknown()) });

const REMEDY = "paratune ignores it and tunes (or predicts) again; delete the file to start that key afresh";

function zodWhere(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.join(".") || "top level"}: ${issue.message}`;
}

/**
 * A key's file, its entries checked. What cannot be used (a file that is not JSON, not a store
 * file, or entries of the wrong shape) is said through `onProblem`, naming the file and what to
 * do, and left out: a damaged store costs its answers, never the command.
 */
function readStoreFile(path: string, options: StoreOptions): { raw: unknown[]; entries: StoreEntry[] } | null {
  const problem = (what: string) => options.onProblem?.(`the store file ${path} ${what}; ${REMEDY}`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    problem(`cannot be read (${code ?? (err as Error).message})`);
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problem(`is not valid JSON (${(err as Error).message})`);
    return null;
  }
  const file = StoreFileSchema.safeParse(parsed);
  if (!file.success) {
    problem(`is not a paratune store file (${zodWhere(file.error)})`);
    return null;
  }
  const entries: StoreEntry[] = [];
  file.data.entries.forEach((raw, i) => {
    const entry = StoreEntrySchema.safeParse(raw);
    if (entry.success) entries.push(raw as StoreEntry);
    else problem(`has an entry (${i + 1} of ${file.data.entries.length}) that is not a tuning result (${zodWhere(entry.error)})`);
  });
  return { raw: file.data.entries, entries };
}

/**
 * Moves a file that is not a store file aside (to <name>.corrupt), so that a new save starts the
 * key afresh and the damaged copy is still there to look at.
 */
function setAside(path: string, options: StoreOptions): void {
  try {
    renameSync(path, `${path}.corrupt`);
    options.onProblem?.(`the store file ${path} was damaged; moved it to ${path}.corrupt and saved this tuning in a new one`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Adds a tuning result under its key (or the key given) and returns the entry as saved. */
export async function saveToStore(result: TuneResult, key: StoreKey = storeKeyOf(result), options: StoreOptions = {}): Promise<StoreEntry> {
  const dir = storeDir(options);
  mkdirSync(dir, { recursive: true });
  const path = storeFile(key, options);
  // realpath: false lets us lock a file that does not exist yet (the first save of a key).
  // Retries cover other writers holding the lock for the few milliseconds a write takes;
  // stale locks from a killed process are taken over after 10 s.
  const release = await lockfile.lock(path, {
    realpath: false,
    stale: 10_000,
    retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100, randomize: true },
  });
  try {
    const read = readStoreFile(path, {});
    // Entries of another shape (a newer paratune's, say) are kept as they are; only a file that
    // cannot be read as a store file at all is set aside.
    if (read === null) setAside(path, options);
    const file: StoreFile = { version: 1, key, entries: (read?.raw ?? []) as StoreEntry[] };
    const entry: StoreEntry = { savedAt: new Date().toISOString(), key, result };
    file.entries.push(entry);
    const max = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    if (file.entries.length > max) file.entries = file.entries.slice(-max);
    await writeFileAtomic(path, JSON.stringify(file));
    return entry;
  } finally {
    await release();
  }
}

/** The newest result stored under a key, or null. Reads without the lock: writes are atomic renames. */
export function lookupStore(key: StoreKey, options: StoreOptions = {}): StoreEntry | null {
  const file = readStoreFile(storeFile(key, options), options);
  // A file may hold entries of another workload (older versions filed a tuning under a latency
  // limit with plain throughput's); each entry's own workload says which question it answers.
  const answers = file?.entries.filter((e) => workloadIdentity(e.result.workload) === key.workload) ?? [];
  return answers[answers.length - 1] ?? null;
}

/** Every entry under a key, oldest first. */
export function storeHistory(key: StoreKey, options: StoreOptions = {}): StoreEntry[] {
  return readStoreFile(storeFile(key, options), options)?.entries ?? [];
}

/** The newest entry of every key in the store. */
export function listStore(options: StoreOptions = {}): StoreEntry[] {
  const dir = storeDir(options);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: StoreEntry[] = [];
  for (const n of names) {
    const file = readStoreFile(join(dir, n), options);
    const last = file?.entries[file.entries.length - 1];
    if (last) out.push(last);
  }
  return out.sort((a, b) => a.savedAt.localeCompare(b.savedAt));
}

export interface TurnOptions extends StoreOptions {
  /** Longest wait for another process's tuning of the same key. */
  waitMs: number;
  /** Ignore entries saved while waiting (the caller wants its own run). */
  fresh?: boolean;
  /** Called once when another process holds the key. */
  onWait?: () => void;
}

export type Turn = { release: () => Promise<void> } | { entry: StoreEntry };

/**
 * One tuning per key at a time on a machine. Trials measure the machine, so two processes tuning
 * at once (replicas of a service starting together, each calling recommend()) would each measure
 * the other's load and both be wrong. The first takes the key's tuning lock; the others wait and
 * return the entry the first one saves, or take the lock when it gives up without one. The lock
 * is refreshed while held and counts as stale 30 s after its holder died.
 */
export async function takeTurn(key: StoreKey, options: TurnOptions): Promise<Turn> {
  mkdirSync(storeDir(options), { recursive: true });
  const path = `${storeFile(key, options)}.tuning`;
  const since = new Date().toISOString();
  const until = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    try {
      const release = await lockfile.lock(path, {
        realpath: false,
        stale: 30_000,
        update: 10_000,
        // Losing the lock mid-run (a clock jump, a very slow disk) must not kill the run: at
        // worst another process starts tuning too.
        onCompromised: () => {},
      });
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    }
    if (!told) {
      options.onWait?.();
      told = true;
    }
    if (!options.fresh) {
      const entry = lookupStore(key, options);
      if (entry && entry.savedAt >= since) return { entry };
    }
    if (Date.now() > until) {
      throw new Error(`another paratune process has been tuning the same question on this machine for over ${Math.round(options.waitMs / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
