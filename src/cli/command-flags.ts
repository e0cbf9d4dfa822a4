// The flags that say what is tuned (a llama model or a command, and how it is measured), declared
// and read the same way by `tune` and `recommend`, so that a tuning run's command line asked again
// of `recommend` is the same question.
import { Option, type Command } from "commander";
import { parseDuration } from "../duration.js";
import { UserInputError } from "../errors.js";

export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--param name=values` pairs; the values stay text for parseParamSpec. */
export function parseParamFlags(pairs: string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(p);
    if (!m) throw new UserInputError(`--param ${p} is not name=values`, "e.g. --param threads=1,2,4,8");
    params[m[1]] = m[2];
  }
  return params;
}

/** `--env NAME=template` pairs (undefined when none), with one clear line for a malformed one. */
export function parseEnvFlags(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!m) throw new UserInputError(`--env ${pair} is not NAME=template`, "e.g. --env OMP_NUM_THREADS={t}");
    env[m[1]] = m[2];
  }
  return env;
}

export function parseSeed(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserInputError(`--seed must be a whole number, got "${v}"`);
  return n;
}

/** A flag's value as a positive integer (undefined when the flag was not given). */
export function positiveIntFlag(flag: string, v: string): number;
export function positiveIntFlag(flag: string, v: string | undefined): number | undefined;
export function positiveIntFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserInputError(`${flag} must be a positive whole number, got "${v}"`);
  return n;
}

/** A comma-separated flag's items (undefined when the flag was not given). */
export function listFlag(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(",").map((s) => s.trim()).filter(Boolean);
}

export interface WorkloadFlags {
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
  objective?: "throughput" | "latency";
  promptTokens?: string;
  genTokens?: string;
  maxLatency?: string;
}

/** Declares the flags of WorkloadFlags on a command. */
export function addWorkloadOptions(command: Command): Command {
  return command
    .option("--model <gguf...>", "GGUF model files, one per quantization of one model (default: a synthetic model)")
    .option("--shape <preset>", "synthesise a model of this shape instead (see `paratune synth --list`)")
    .option("--quant <list>", "quantizations to synthesise, comma-separated (with --shape or no model)")
    .option("--cmd <command>", "a command instead of a model: a shell command with {name} placeholders")
    .option("--param <name=values>", "with --cmd: values of a placeholder, e.g. threads=1,2,4,8 or workers=1..16:log (repeatable)", collect)
    .option("--env <NAME=template>", "with --cmd: an environment variable the command runs with, may use placeholders, e.g. OMP_NUM_THREADS={t} (repeatable)", collect)
    .option("--metric <regex|wall>", "with --cmd: regex with one group that finds the metric in the output, or wall for run time (default wall)")
    .option("--minimize", "with --cmd: smaller metric is better (default for wall)")
    .option("--maximize", "with --cmd: larger metric is better (default for a regex)")
    .option("--reps <n>", "timed repetitions per full trial (default 3)")
    .addOption(new Option("--tuner <name>", "search strategy (default bayes)").choices(["bayes", "random", "grid"]))
    .option("--seed <n>", "seed of the tuner's random choices (default 1)")
    .addOption(new Option("--objective <name>", "what to optimise for a model (default throughput)").choices(["throughput", "latency"]))
    .option("--prompt-tokens <n>", "prompt tokens per request (default 64)")
    .option("--gen-tokens <n>", "tokens generated per request in a full trial (default 32)")
    .option("--max-latency <duration>", "serving: the best throughput whose time per output token (p95) stays under this, e.g. 50ms");
}

/** The options WorkloadFlags give, every user error in them found before anything runs. */
export function workloadOptions(flags: WorkloadFlags) {
  if (flags.minimize && flags.maximize) throw new UserInputError("--minimize and --maximize contradict each other", "give one of them");
  const params = parseParamFlags(flags.param);
  const env = parseEnvFlags(flags.env);
  if (!flags.cmd && (Object.keys(params).length > 0 || env || flags.metric !== undefined || flags.minimize || flags.maximize)) {
    throw new UserInputError("--param, --env, --metric, --minimize and --maximize describe a command", 'use them with --cmd, e.g. --cmd "mpirun -np {np} ./prog" --param np=1,2 --env OMP_NUM_THREADS={t}');
  }
  return {
    models: flags.model,
    shape: flags.shape,
    quants: listFlag(flags.quant),
    command: flags.cmd,
    params: flags.cmd ? params : undefined,
    env,
    metric: flags.metric,
    direction: flags.minimize ? ("minimize" as const) : flags.maximize ? ("maximize" as const) : undefined,
    reps: positiveIntFlag("--reps", flags.reps),
    tuner: flags.tuner,
    seed: parseSeed(flags.seed),
    objective: flags.objective,
    promptTokens: positiveIntFlag("--prompt-tokens", flags.promptTokens),
    genTokens: positiveIntFlag("--gen-tokens", flags.genTokens),
    maxLatencyMs: flags.maxLatency === undefined ? undefined : parseDuration(flags.maxLatency, "--max-latency"),
  };
}
