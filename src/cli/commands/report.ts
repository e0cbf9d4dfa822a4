// `paratune report <out-dir>`: rebuild report.md, the charts, .env and recommendation.json of a
// tuning run from its journal (trials.jsonl) and its metadata (recommendation.json, or the
// result.json that tune() writes).
import { Command } from "commander";
import { relative } from "node:path";
import { loadEnvMap, parseEnvStyle } from "../../outputs/env.js";
import { formatSpeedup } from "../../outputs/recommendation.js";
import { printJson } from "../format.js";
import { describeConfig } from "../../format.js";

interface ReportFlags {
  envStyle?: string;
  envMap?: string;
  writeEnv?: string;
  json?: boolean;
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .argument("<out-dir>", "the --out folder of a `paratune tune` run")
    .description("Rebuild a tuning run's report.md, charts/*.svg, .env and recommendation.json from its trials.jsonl.")
    .option("--env-style <style>", "variable names of the .env (default: as before, else generic)")
    .option("--env-map <file>", "JSON file naming your variables")
    .option("--write-env <file>", "also merge the values into this .env (your project's), keeping its other keys and comments")
    .option("--json", "print the recommendation and the files written as JSON")
    .action(async (outDir: string, flags: ReportFlags) => {
      // vega is loaded only when a report is really rebuilt.
      const { rebuildReport } = await import("../../outputs/index.js");
      const written = await rebuildReport(outDir, {
        envStyle: flags.envStyle ? parseEnvStyle(flags.envStyle) : undefined,
        envMap: flags.envMap ? loadEnvMap(flags.envMap) : undefined,
        envFile: flags.writeEnv,
      });
      if (flags.json) {
        printJson({ files: written.files, env: written.env, recommendation: written.recommendation });
        return;
      }
      const rec = written.recommendation;
      process.stdout.write(
        `${describeConfig(rec.config)}: ${formatSpeedup(rec.speedup)} the baseline, confidence ${rec.confidence.level}\n` +
          written.files.map((f) => `  ${shortPath(f)}`).join("\n") +
          "\n",
      );
    });
}

/** A path relative to the working folder when it is inside it, else as given. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}
