// `paratune replay`: benchmark tuners on a recorded landscape (see src/replay.ts and docs/tuners.md).

import { Command, Option } from "commander";
import cliProgress from "cli-progress";
import { UserInputError } from "../../errors.js";
import { configKey } from "../../space.js";
import { loadLandscape } from "../../landscape.js";
import { landscapePrior, replay, type Quartiles, type ReplayResult } from "../../replay.js";
import { table } from "../../format.js";
import { printJson } from "../format.js";
import { positiveIntFlag } from "../command-flags.js";
import { predictOnLandscape, renderLandscapeEvaluation } from "../../../models/evaluate.js";

interface ReplayFlags {
  landscape: string;
  params: string;
  objective: string;
  minimize?: boolean;
  tuner: string;
  trials: string;
  seeds: string;
  seed: string;
  predict?: string;
  /** false with --no-prior. */
  prior: boolean;
  json?: boolean;
}

function formatQuartiles(q: Quartiles, digits = 0): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : "never");
  return `${f(q.median)} [${f(q.q1)}-${f(q.q3)}]`;
}

function render(result: ReplayResult): string {
  const head = [
    `landscape ${result.landscape}: ${result.configurations} configurations, ${result.failed} failed`,
    `best ${result.objective} = ${Number(result.best.value.toPrecision(6))} at ${configKey(result.best.config)}; ${result.within95} configuration${result.within95 === 1 ? "" : "s"} within 95% of it`,
    `bayes prior mean: ${result.prior.used ? result.prior.detail : `none (${result.prior.detail})`}`,
    `${result.seeds} seeds, N = ${result.trials} trials; median [quartiles] over seeds`,
    "",
  ];
  const rows = [["tuner", "trials to 95%", "trials to 99%", "best after N", "95% within N", "time"]];
  for (const t of result.tuners) {
    rows.push([
      t.tuner,
      formatQuartiles(t.reach95),
      formatQuartiles(t.reach99),
      formatQuartiles({ q1: t.fractionAtN.q1 * 100, median: t.fractionAtN.median * 100, q3: t.fractionAtN.q3 * 100 }, 1) + " %",
      `${Math.round(t.successAtN * 100)} %`,
      `${(t.elapsedMs / 1000).toFixed(1)}s`,
    ]);
  }
  return `${head.join("\n")}${table(rows)}\n`;
}

export function registerReplay(program: Command): void {
  program
    .command("replay")
    .description("Benchmark tuners on a recorded landscape: trials needed to reach 95%/99% of the best, over seeds.")
    .requiredOption("--landscape <file>", "JSON lines, one measured configuration per line (parameter and metric fields, ok 1/0)")
    .requiredOption("--params <list>", "the parameter fields, comma-separated, e.g. workers,threads,sequences")
    .requiredOption("--objective <field>", "the metric field to optimise, e.g. decodeTps")
    .option("--minimize", "smaller objective is better (latency); default: larger is better")
    .addOption(new Option("--tuner <names>", "tuners to compare, comma-separated").default("bayes,random,grid"))
    .option("--trials <n>", "trial budget N for the best-after-N column", "30")
    .option("--seeds <k>", "number of seeds per tuner", "20")
    .option("--seed <s>", "first seed", "0")
    .option("--predict <k>", "instead of tuners: fit the performance models on K random configurations, report their error on the rest (draws: --seeds)")
    .option("--no-prior", "give the bayes tuner no prior mean (default: the roofline, as paratune tune does, when the landscape's .meta.json has the hardware profile and model info)")
    .option("--json", "print the result as JSON")
    .action((flags: ReplayFlags) => {
      const params = flags.params.split(",").map((s) => s.trim()).filter(Boolean);
      const tuners = flags.tuner.split(",").map((s) => s.trim()).filter(Boolean);
      const trials = positiveIntFlag("--trials", flags.trials);
      const seeds = positiveIntFlag("--seeds", flags.seeds);
      const firstSeed = Number(flags.seed);
      if (!Number.isInteger(firstSeed)) throw new UserInputError(`--seed must be an integer, got "${flags.seed}"`);
      const landscape = loadLandscape(flags.landscape, {
        params,
        objective: flags.objective,
        direction: flags.minimize ? "minimize" : "maximize",
      });
      if (flags.predict !== undefined) {
        const evaluation = predictOnLandscape(landscape, { k: Number(flags.predict), repeats: seeds, seed: firstSeed });
        if (flags.json) printJson(evaluation);
        else process.stdout.write(renderLandscapeEvaluation(evaluation));
        return;
      }
      const { priorMean, prior } = landscapePrior(landscape, { disabled: !flags.prior });
      const bar =
        process.stderr.isTTY && !flags.json
          ? new cliProgress.SingleBar({ format: "replay [{bar}] {value}/{total} runs | ETA {eta_formatted}", stream: process.stderr, clearOnComplete: true }, cliProgress.Presets.shades_classic)
          : null;
      bar?.start(tuners.length * seeds, 0);
      try {
        const result = replay(landscape, { tuners, trials, seeds, firstSeed, priorMean, prior, onProgress: (done) => bar?.update(done) });
        bar?.stop();
        if (flags.json) printJson(result);
        else process.stdout.write(render(result));
      } finally {
        bar?.stop();
      }
    });
}
