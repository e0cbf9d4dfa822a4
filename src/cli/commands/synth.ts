// `paratune synth`: write synthetic GGUF models (random weights, real shapes and tensor types).
import { Command } from "commander";
import cliProgress from "cli-progress";
import { UserInputError } from "../../errors.js";
import { describePresets, SYNTH_QUANTS, synthesize, type SynthesizedModel } from "../../synth.js";
import { formatBytes, formatDuration, table } from "../../format.js";
import { printJson } from "../format.js";

interface SynthFlags {
  shape?: string;
  quant: string;
  out?: string;
  force?: boolean;
  list?: boolean;
  json?: boolean;
}

function printList(json: boolean | undefined): void {
  const presets = describePresets();
  if (json) {
    printJson({ presets, quants: SYNTH_QUANTS });
    return;
  }
  process.stdout.write(`${table([["preset", "shape of"], ...presets.map((p) => [p.name, p.about])])}\n`);
  process.stdout.write(`\nquantizations: ${SYNTH_QUANTS.join(", ")}\n`);
}

/** A progress bar with ETA on stderr, only on a terminal. */
function progressFor(quant: string): ((written: number, total: number) => void) & { stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  const update = (written: number, total: number) => {
    if (!bar) {
      bar = new cliProgress.SingleBar(
        { format: `${quant.padEnd(7)} [{bar}] {percentage}% {value}/{total} MiB  ETA {eta_formatted}`, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.ceil(total / 2 ** 20), 0);
    }
    bar.update(Math.floor(written / 2 ** 20));
  };
  return Object.assign(update, { stop: () => bar?.stop() });
}

async function writeAll(shape: string, quants: string[], flags: SynthFlags, signal: AbortSignal): Promise<SynthesizedModel[]> {
  const tty = !flags.json && process.stderr.isTTY;
  const results: SynthesizedModel[] = [];
  for (const quant of quants) {
    const progress = tty ? progressFor(quant) : undefined;
    try {
      const m = await synthesize({ shape, quant, outDir: flags.out, force: flags.force, signal, onProgress: progress });
      results.push(m);
    } finally {
      progress?.stop();
    }
    const m = results[results.length - 1];
    if (!flags.json) {
      const how = m.reused ? "cached" : `written in ${formatDuration(m.durationMs)}`;
      const types = Object.entries(m.tensorTypes).map(([t, n]) => `${n} ${t}`).join(", ");
      process.stdout.write(`${m.shape.name} ${m.quant}: ${formatBytes(m.fileBytes)} (${how}); tensors: ${types}\n  ${m.path}\n`);
    }
  }
  return results;
}

export function registerSynth(program: Command): void {
  program
    .command("synth")
    .description("Write GGUF models with random weights in the exact shapes and tensor types of real models (cached and reused).")
    .option("--shape <spec>", "a preset (see --list), a .gguf model whose shape to copy, or a Hugging Face config.json")
    .option("--quant <list>", `quantizations, comma-separated (${SYNTH_QUANTS.join(", ")})`, "q4_k_m")
    .option("--out <dir>", "folder for the files (default: paratune's cache folder)")
    .option("--force", "write the files again even when cached")
    .option("--list", "list the shape presets and quantizations")
    .option("--json", "print the result as JSON")
    .action(async (flags: SynthFlags) => {
      if (flags.list) return printList(flags.json);
      if (!flags.shape) throw new UserInputError("--shape is required", "run `paratune synth --list` for the presets");
      const quants = flags.quant.split(",").map((q) => q.trim()).filter(Boolean);
      if (quants.length === 0) throw new UserInputError("--quant is empty", `supported: ${SYNTH_QUANTS.join(", ")}`);

      // Ctrl-C stops the write; synthesize() removes the partial file and rejects with this reason.
      const abort = new AbortController();
      const onSignal = () => abort.abort(new UserInputError("interrupted; no partial file was left"));
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        const results = await writeAll(flags.shape, quants, flags, abort.signal);
        if (flags.json) printJson(results.map((m) => ({ ...m, durationMs: Math.round(m.durationMs) })));
      } finally {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
      }
    });
}
