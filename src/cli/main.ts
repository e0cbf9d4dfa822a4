import { Command, CommanderError } from "commander";
import { describeError, isUserError } from "../errors.js";
import { packageVersion } from "../version.js";

/**
 * Each command's module, loaded only when that command runs: the tune command pulls in
 * node-llama-cpp, the GP and vega, which would otherwise cost every `paratune probe` seconds.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  probe: async () => (await import("./commands/probe.js")).registerProbe,
  synth: async () => (await import("./commands/synth.js")).registerSynth,
  bench: async () => (await import("./commands/bench.js")).registerBench,
  tune: async () => (await import("./commands/tune.js")).registerTune,
  replay: async () => (await import("./commands/replay.js")).registerReplay,
  predict: async () => (await import("./commands/predict.js")).registerPredict,
  recommend: async () => (await import("./commands/recommend.js")).registerRecommend,
  report: async () => (await import("./commands/report.js")).registerReport,
};

/**
 * Builds the CLI. One file per command under commands/, each adding itself here. With `only`,
 * just that command is loaded ("" loads none, for --version); without it (help, an unknown
 * command) all of them are.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command("paratune")
    .description("Find the fastest parallel configuration for running an LLM on this machine, by measuring.")
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    // Usage mistakes read like every other user mistake: "paratune: ..." (commander says "error: ").
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "paratune: ")) })
    .exitOverride();
  const names = only === "" ? [] : only && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]())(program);
  return program;
}

/** Runs the CLI and returns the exit code. A user mistake prints one line, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith("-"));
  const versionOnly = !first && args.some((a) => a === "-V" || a === "--version");
  const program = await buildProgram(versionOnly ? "" : first);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or help/version, which exit 0). A usage mistake is
      // a user mistake: exit code 2, like the others.
      return err.exitCode === 0 ? 0 : 2;
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
