// What a tuning run leaves in its --out folder:
//   recommendation.json  the recommendation, the .env values, and the run's metadata (the
//                        TuneResult without its trials, which live in trials.jsonl)
//   .env                 the recommended values under the names the user's program reads
//   report.md            the report, with charts/*.svg beside it
//   trials.jsonl         one TrialRecord per line (the study's journal; written here only when
//                        the caller has no journal, e.g. a result from the store)
// `paratune report <out-dir>` rebuilds report.md and the charts from trials.jsonl plus the
// metadata in recommendation.json (or tune()'s result.json), so the journal stays the single
// record of what was measured.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { UserInputError } from "../errors.js";
import { buildResult } from "../tune/result.js";
import { finalPredictor } from "../tune/final-model.js";
import { JOURNAL_FILE, readJournal } from "../tune/journal.js";
import { STUDY_FILE, type StudyContext } from "../tune/study-file.js";
import type { TuneResult } from "../types.js";
import { writeCharts } from "./charts.js";
import { ENV_STYLES, envBlock, envRecord, renderEnv, writeEnvFile, type EnvMap, type EnvStyle } from "./env.js";
import { recommendationFromResult, type Recommendation } from "./recommendation.js";
import { makeFolder, writeFileAtomically } from "../atomic-file.js";
import { renderReport } from "./report.js";

export const RECOMMENDATION_FILE = "recommendation.json";
export const REPORT_FILE = "report.md";
export const ENV_FILE = ".env";
export const CHARTS_DIR = "charts";
/** What tune() writes: the whole TuneResult. */
export const TUNE_RESULT_FILE = "result.json";

export interface OutputOptions {
  envStyle?: EnvStyle;
  envMap?: EnvMap;
  /** "tuned" for a fresh run (default), "store" when the result came from the store. */
  source?: "tuned" | "store";
  /** Also merge the values into this .env (the user's own), keeping its other keys. */
  envFile?: string;
}

/** recommendation.json. `result` is the TuneResult less its trials (see trials.jsonl). */
export interface RecommendationFile {
  version: 1;
  recommendation: Recommendation;
  env: { style: string; map: EnvMap | null; values: Record<string, string> };
  result: Omit<TuneResult, "trials">;
}

export interface WrittenOutputs {
  recommendation: Recommendation;
  env: Record<string, string>;
  /** Paths written, for the CLI to list. */
  files: string[];
}

export async function writeOutputs(result: TuneResult, outDir: string, options: OutputOptions = {}): Promise<WrittenOutputs> {
  makeFolder(outDir, "the output folder");
  const rec = recommendationFromResult(result, options.source ?? "tuned");
  const style = options.envMap?.extends ?? options.envStyle ?? "generic";
  const block = envBlock(rec, { style, map: options.envMap });
  const files: string[] = [];

  const journal = join(outDir, JOURNAL_FILE);
  if (!existsSync(journal)) {
    await writeFileAtomic(journal, result.trials.map((t) => JSON.stringify(t) + "\n").join(""));
    files.push(journal);
  }

  const { trials: _trials, ...meta } = result;
  const file: RecommendationFile = {
    version: 1,
    recommendation: rec,
    env: { style: options.envMap ? "env-map" : style, map: options.envMap ?? null, values: envRecord(block) },
    result: meta,
  };
  const recPath = join(outDir, RECOMMENDATION_FILE);
  await writeFileAtomic(recPath, JSON.stringify(file, null, 2) + "\n");
  files.push(recPath);

  // The run folder's .env is ours: written whole, so a rebuild in another style leaves no stale
  // names behind. Only the user's own file (envFile) is merged into.
  // Without a measured best there is no answer to put in a .env: its values would be the untuned
  // baseline, which a program would read as a recommendation.
  const envPath = join(outDir, ENV_FILE);
  if (result.best) {
    writeFileAtomically(envPath, renderEnv(block), "the run's .env");
    files.push(envPath);
    if (options.envFile) {
      await writeEnvFile(options.envFile, block);
      files.push(options.envFile);
    }
  }

  const charts = await writeCharts(result, join(outDir, CHARTS_DIR));
  files.push(...charts.map((c) => join(outDir, CHARTS_DIR, c.file)));
  const reportPath = join(outDir, REPORT_FILE);
  await writeFileAtomic(reportPath, renderReport(result, rec, { charts, env: { file: ENV_FILE, style: file.env.style } }));
  files.push(reportPath);
  return { recommendation: rec, env: file.env.values, files };
}

/** Reads an out folder's recommendation.json, with one clear line when it is missing or not ours. */
export function readRecommendationFile(outDir: string): RecommendationFile {
  const path = join(outDir, RECOMMENDATION_FILE);
  if (!existsSync(path)) {
    throw new UserInputError(`${outDir} has no ${RECOMMENDATION_FILE}`, "give the --out folder of a `paratune tune` run (it holds recommendation.json and trials.jsonl)");
  }
  let parsed: RecommendationFile;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as RecommendationFile;
  } catch (err) {
    throw new UserInputError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed.version !== 1 || !parsed.result || !parsed.recommendation) throw new UserInputError(`${path} is not a paratune recommendation file (version 1)`);
  return parsed;
}

/** What a report needs besides the trials. */
interface RunMeta {
  tuner: string;
  budgetMs: number;
  elapsedMs: number;
  ended: TuneResult["ended"];
  hardware: TuneResult["hardware"];
  workload: TuneResult["workload"];
  params: TuneResult["params"];
  infeasible: TuneResult["infeasible"];
  baseline: TuneResult["baseline"]["config"];
  rankingSize?: number;
  createdAt?: string;
}

function readJsonFile<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    throw new UserInputError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function metaOfResult(m: Omit<TuneResult, "trials">): RunMeta {
  return { ...m, baseline: m.baseline.config, rankingSize: Math.max(m.ranking.length, 1) };
}

/**
 * The run's metadata: recommendation.json's copy, or tune()'s result.json when outputs were never
 * written, or, for a run killed before either (kill -9, power loss), the context study.json kept
 * from the start; the run then counts as interrupted.
 */
function readMeta(outDir: string): RunMeta {
  if (existsSync(join(outDir, RECOMMENDATION_FILE))) return metaOfResult(readRecommendationFile(outDir).result);
  if (existsSync(join(outDir, TUNE_RESULT_FILE))) return metaOfResult(readJsonFile<TuneResult>(join(outDir, TUNE_RESULT_FILE)));
  const studyPath = join(outDir, STUDY_FILE);
  if (!existsSync(studyPath)) {
    throw new UserInputError(`${outDir} holds no tuning run (no ${RECOMMENDATION_FILE}, ${TUNE_RESULT_FILE} or ${STUDY_FILE})`, "give the --out folder of a `paratune tune` run");
  }
  const study = readJsonFile<{ createdAt?: string; context?: StudyContext }>(studyPath);
  const c = study.context;
  if (!c) {
    throw new UserInputError(`${outDir} was stopped before its study was set up (${STUDY_FILE} has no context), so there is nothing to report`, `continue it with paratune tune --resume ${outDir}`);
  }
  return { ...c, elapsedMs: 0, ended: "interrupted", infeasible: [], createdAt: study.createdAt };
}

/**
 * The TuneResult of an out folder, with its trials from the journal: ranking, speedups and
 * confidence are recomputed from the journal, so a folder whose journal grew (a resumed run) or
 * whose run was killed before its results were written still gets a correct report.
 */
export function loadResult(outDir: string): TuneResult {
  const meta = readMeta(outDir);
  const { records } = readJournal(join(outDir, JOURNAL_FILE));
  const result = buildResult({
    tuner: meta.tuner,
    budgetMs: meta.budgetMs,
    elapsedMs: Math.max(meta.elapsedMs, ...records.map((r) => r.elapsedMs)),
    ended: meta.ended,
    hardware: meta.hardware,
    workload: meta.workload,
    params: meta.params,
    trials: records,
    infeasible: meta.infeasible,
    baseline: meta.baseline,
    predict: finalPredictor({ hardware: meta.hardware, workload: meta.workload, params: meta.params, trials: records }),
    rankingSize: meta.rankingSize,
  });
  return meta.createdAt ? { ...result, createdAt: meta.createdAt } : result;
}

/** Rebuilds report.md, charts, .env and recommendation.json of an out folder from its journal. */
export async function rebuildReport(outDir: string, options: OutputOptions = {}): Promise<WrittenOutputs> {
  const previous = existsSync(join(outDir, RECOMMENDATION_FILE)) ? readRecommendationFile(outDir) : null;
  const result = loadResult(outDir);
  const envMap = options.envMap ?? previous?.env.map ?? undefined;
  const stored = previous && (ENV_STYLES as readonly string[]).includes(previous.env.style) ? (previous.env.style as EnvStyle) : undefined;
  const envStyle = options.envStyle ?? stored;
  return writeOutputs(result, outDir, { ...options, envMap, envStyle, source: previous?.recommendation.source === "store" ? "store" : "tuned" });
}

export { recommendationFromResult, type Recommendation } from "./recommendation.js";
export { envBlock, renderEnv, mergeEnv, writeEnvFile, loadEnvMap, parseEnvStyle, ENV_STYLES, type EnvStyle, type EnvMap } from "./env.js";
export { renderSvg, charts } from "./charts.js";
