// `paratune recommend`: the recommended configuration as a .env on stdout, so that
// `paratune recommend > .env` works. Everything meant for a person goes to stderr.
import type { Command } from "commander";
import { ENV_STYLES, loadEnvMap, parseEnvStyle } from "../../outputs/env.js";
import { formatSpeedup, isAnswer } from "../../outputs/recommendation.js";
import type { RecommendAnswer, RecommendOptions } from "../../recommend.js";
import { parseDuration } from "../../duration.js";
import { printJson } from "../format.js";
import { describeConfig } from "../../format.js";
import { addWorkloadOptions, workloadOptions, type WorkloadFlags } from "../command-flags.js";

interface RecommendFlags extends WorkloadFlags {
  budget: string;
  envStyle: string;
  envMap?: string;
  writeEnv?: string;
  out?: string;
  fresh?: boolean;
  json?: boolean;
}

export function registerRecommend(program: Command): void {
  const command = program
    .command("recommend")
    .description(
      "Print the fastest configuration for this machine and model (or command) as a .env: from the store when tuned before (no trial), " +
        "else by tuning within --budget, or predicted by the models with --budget 0. The flags that say what is tuned are those of `paratune tune`.",
    );
  addWorkloadOptions(command)
    .option("--budget <duration>", "time to tune when the store has no answer; 0 predicts without any trial", "2m")
    .option("--env-style <style>", `variable names: ${ENV_STYLES.join(", ")}`, "generic")
    .option("--env-map <file>", 'JSON file naming your variables: {"extends": "generic", "vars": {"workers": "MY_WORKERS"}}')
    .option("--write-env <file>", "also merge the values into this .env, keeping its other keys and comments")
    .option("--out <dir>", "folder of the tuning run, when one runs (default ./paratune-out/<timestamp>)")
    .option("--fresh", "ignore the store: tune (or predict) again")
    .option("--json", "print the answer as JSON instead of a .env")
    .action(runRecommend);
}

async function runRecommend(flags: RecommendFlags): Promise<void> {
  const options = optionsOf(flags);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", onSigint);
  // Loaded here, not at the top: recommend() pulls in the tuner, the workloads and
  // node-llama-cpp, which every other command would otherwise pay for at start-up. A command's
  // answer comes from a lighter module that loads the tuner only when it has to tune.
  const { recommend } = flags.cmd
    ? { recommend: (await import("../../recommend-command.js")).recommendCommand }
    : await import("../../recommend.js");
  let answer: RecommendAnswer;
  try {
    answer = await recommend({
      ...options,
      signal: controller.signal,
      progress: !flags.json && process.stderr.isTTY === true,
      onNote: (note) => process.stderr.write(`paratune: ${note}\n`),
    });
  } finally {
    process.off("SIGINT", onSigint);
  }
  printAnswer(answer, flags);
}

/** The flags as recommend() options, every user error found before anything runs. */
function optionsOf(flags: RecommendFlags): RecommendOptions {
  return {
    ...workloadOptions(flags),
    budgetMs: parseDuration(flags.budget, "budget", { zero: true }),
    envStyle: parseEnvStyle(flags.envStyle),
    envMap: flags.envMap ? loadEnvMap(flags.envMap) : undefined,
    envFile: flags.writeEnv,
    outDir: flags.out,
    fresh: flags.fresh,
  };
}

/** The .env on stdout and a few lines for people on stderr, or everything as JSON. */
function printAnswer(answer: RecommendAnswer, flags: RecommendFlags): void {
  const rec = answer.recommendation;
  // No trial succeeded: the values are the untuned baseline, so a script must not take them.
  if (!isAnswer(rec)) process.exitCode = 1;
  if (flags.json) {
    printJson({
      source: rec.source,
      confidence: rec.confidence,
      speedup: rec.speedup,
      config: rec.config,
      env: answer.env,
      note: rec.note,
      outDir: answer.outDir,
      elapsedMs: Math.round(answer.elapsedMs),
      recommendation: rec,
    });
    return;
  }
  process.stdout.write(answer.envText);
  const basis = rec.expected.basis;
  process.stderr.write(
    `paratune: ${describeConfig(rec.config)}: ${formatSpeedup(rec.speedup)} the baseline (${basis}), confidence ${rec.confidence.level}\n` +
      `paratune: source ${rec.source}: ${rec.note}${answer.outDir ? ` Report: ${answer.outDir}/report.md` : ""}\n` +
      (flags.writeEnv && isAnswer(rec) ? `paratune: merged into ${flags.writeEnv}\n` : ""),
  );
}
