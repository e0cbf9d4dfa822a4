// `paratune recommend`: the recommended configuration as a .env on stdout, so that
// `paratune recommend > .env` works. Everything meant for a person goes to stderr.
import { Command, Option } from "commander";
import { UserInputError } from "../../errors.js";
import { ENV_STYLES, loadEnvMap, parseEnvStyle } from "../../outputs/env.js";
import { formatSpeedup, isAnswer } from "../../outputs/recommendation.js";
import type { RecommendAnswer, RecommendOptions } from "../../recommend.js";
import { parseDuration } from "../../duration.js";
import { printJson } from "../format.js";
import { describeConfig } from "../../format.js";
import { collect, parseEnvFlags, parseParamFlags, parseSeed } from "../command-flags.js";

interface RecommendFlags {
  model?: string[];
  shape?: string;
  quant?: string;
  cmd?: string;
  param?: string[];
  env?: string[];
  metric?: string;
  minimize?: boolean;
  maximize?: boolean;
  reps?: string;
  tuner?: string;
  seed?: string;
  budget: string;
  objective?: "throughput" | "latency";
  promptTokens?: string;
  genTokens?: string;
  envStyle: string;
  envMap?: string;
  writeEnv?: string;
  out?: string;
  fresh?: boolean;
  json?: boolean;
}

export function registerRecommend(program: Command): void {
  program
    .command("recommend")
    .description(
      "Print the fastest configuration for this machine and model as a .env: from the store when tuned before (no trial), " +
        "else by tuning within --budget, or predicted by the models with --budget 0.",
    )
    .option("--model <gguf...>", "GGUF model files, one per quantization of one model (default: a synthetic model, as `tune`)")
    .option("--shape <preset>", "a synthetic model of this shape instead")
    .option("--quant <list>", "quantizations to synthesise, comma-separated")
    .option("--cmd <command>", "a command instead of a model, with the flags of its `paratune tune --cmd` run (answered from the store when tuned before)")
    .option("--param <name=values>", "with --cmd: values of a placeholder, as given to tune (repeatable)", collect)
    .option("--env <NAME=template>", "with --cmd: an environment variable of the command, as given to tune (repeatable)", collect)
    .option("--metric <regex|wall>", "with --cmd: how the metric is read, as given to tune (default wall)")
    .option("--minimize", "with --cmd: smaller metric is better")
    .option("--maximize", "with --cmd: larger metric is better")
    .option("--reps <n>", "timed repetitions per full trial, when a tuning runs (default 3)")
    .addOption(new Option("--tuner <name>", "search strategy, when a tuning runs (default bayes)").choices(["bayes", "random", "grid"]))
    .option("--seed <n>", "seed of the tuner's random choices, when a tuning runs (default 1)")
    .option("--budget <duration>", "time to tune when the store has no answer; 0 predicts without any trial", "2m")
    .addOption(new Option("--objective <name>", "what to optimise (default throughput)").choices(["throughput", "latency"]))
    .option("--prompt-tokens <n>", "prompt tokens per request (default 64)")
    .option("--gen-tokens <n>", "tokens generated per request (default 32)")
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
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UserInputError(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
  const envStyle = parseEnvStyle(flags.envStyle);
  const envMap = flags.envMap ? loadEnvMap(flags.envMap) : undefined;
  if (flags.minimize && flags.maximize) throw new UserInputError("--minimize and --maximize contradict each other", "give one of them");
  const params = parseParamFlags(flags.param);
  const env = parseEnvFlags(flags.env);
  if (!flags.cmd && (Object.keys(params).length > 0 || env || flags.metric)) {
    throw new UserInputError("--param, --env and --metric describe a command", 'use them with --cmd, as in the tuning run, e.g. --cmd "mpirun -np {np} ./prog" --param np=1,2');
  }
  return {
    command: flags.cmd,
    params: flags.cmd ? params : undefined,
    env,
    metric: flags.metric,
    direction: flags.minimize ? "minimize" : flags.maximize ? "maximize" : undefined,
    reps: int("reps", flags.reps),
    tuner: flags.tuner,
    seed: parseSeed(flags.seed),
    models: flags.model,
    shape: flags.shape,
    quants: flags.quant?.split(",").map((s) => s.trim()).filter(Boolean),
    budgetMs: parseDuration(flags.budget, "budget", { zero: true }),
    objective: flags.objective,
    promptTokens: int("prompt-tokens", flags.promptTokens),
    genTokens: int("gen-tokens", flags.genTokens),
    envStyle,
    envMap,
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
