// tune(): everything `paratune tune` does, as a library call: the study (src/tune/) and then the
// outputs for people (src/outputs/: .env, recommendation.json, report.md and charts), written
// once, under the names the caller asked for.

import { writeOutputs, type OutputOptions } from "./outputs/index.js";
import { runTuning, type TuneOptions, type TuneRun } from "./tune/index.js";
import type { TuneResult } from "./types.js";

export type TuneAndWriteOptions = TuneOptions & Pick<OutputOptions, "envStyle" | "envMap">;

export async function tune(options: TuneAndWriteOptions = {}): Promise<TuneResult> {
  return (await tuneRun(options)).result;
}

/** tune(), also saying where the files went (the CLI prints them). */
export async function tuneRun(options: TuneAndWriteOptions = {}): Promise<TuneRun> {
  const run = await runTuning(options);
  const written = await writeOutputs(run.result, run.outDir, { envStyle: options.envStyle, envMap: options.envMap, source: "tuned" });
  return { ...run, files: [...run.files, ...written.files.filter((f) => !run.files.includes(f))] };
}
