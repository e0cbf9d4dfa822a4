import { Command, CommanderError } from "commander";
import { describeError, isUserError } from "../errors.js";
import { packageVersion } from "../version.js";
import { registerReplay } from "./commands/replay.js";
import { registerProbe } from "./commands/probe.js";
import { registerSynth } from "./commands/synth.js";
import { registerTune } from "./commands/tune.js";
import { registerBench } from "./commands/bench.js";
import { registerRecommend } from "./commands/recommend.js";
import { registerReport } from "./commands/report.js";
import { registerPredict } from "./commands/predict.js";

/** Builds the CLI. One file per command under commands/, each adding itself here. */
export function buildProgram(): Command {
  const program = new Command("paratune")
    .description("Find the fastest parallel configuration for running an LLM on this machine, by measuring.")
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerReplay(program);
  registerProbe(program);
  registerSynth(program);
  registerTune(program);
  registerBench(program);
  registerRecommend(program);
  registerReport(program);
  registerPredict(program);
  return program;
}

/** Runs the CLI and returns the exit code. A user mistake prints one line, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or help/version, which exit 0).
      return err.exitCode;
    }
    if (isUserError(err) || process.env.PARATUNE_DEBUG !== "1") {
      process.stderr.write(`paratune: ${describeError(err)}\n`);
      if (!isUserError(err)) process.stderr.write("  (set PARATUNE_DEBUG=1 for the stack trace)\n");
      return isUserError(err) ? 2 : 1;
    }
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
