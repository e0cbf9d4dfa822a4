// Does a synthetic model run like a real quantization of the same shape? For each quantization:
// paratune's synthetic file vs llama-quantize's output from a synthetic f16 of the same shape.
// Prints file sizes, per-tensor type mismatches and decode speed (llama-bench tg, rounds in ABBA
// order so that drift on a busy machine hits both files alike).
//
//   node dist/bench/synth-vs-quantize.js [--shape tinyllama-1.1b] [--quant q4_k_m,q8_0]
//     [--bin /work/llama.cpp/build/bin] [--threads N] [--gen 64] [--reps 3] [--rounds 3]
//     [--load-mode none|auto] [--types-only]
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readGgufFileInfo } from "node-llama-cpp";
import { cacheDir } from "../src/paths.js";
import { synthesize } from "../src/synth.js";

const run = promisify(execFile);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const shape = arg("shape", "tinyllama-1.1b");
const quants = arg("quant", "q4_k_m").split(",");
const bin = arg("bin", process.env.LLAMA_CPP_BIN ?? "/work/llama.cpp/build/bin");
const threads = Number(arg("threads", String(availableParallelism())));
const gen = Number(arg("gen", "64"));
const reps = Number(arg("reps", "3"));
const rounds = Number(arg("rounds", "3"));
// llama-bench's load mode. "none" (default) reads the file into fresh memory on every run, so
// both files start alike; "auto" maps it, and then the page cache's history of each file
// matters (docs/measurements/2026-11-25-synth.md: 22 % between two byte-identical copies).
const loadMode = arg("load-mode", "none");

async function tensorTypes(path: string): Promise<Map<string, number>> {
  const info = await readGgufFileInfo(path, { logWarnings: false });
  return new Map((info.tensorInfo ?? []).map((t) => [t.name, t.ggmlType as number]));
}

async function decodeSamples(model: string): Promise<number[]> {
  const { stdout } = await run(
    join(bin, "llama-bench"),
    ["-m", model, "-p", "0", "-n", String(gen), "-r", String(reps), "-t", String(threads), "-lm", loadMode, "-o", "json"],
    { maxBuffer: 1 << 24 },
  );
  const rows = JSON.parse(stdout) as { samples_ts: number[] }[];
  return rows.flatMap((r) => r.samples_ts);
}

/**
 * CPU milliseconds per decoded token: user + system time of llama-bench decoding gen + 8 tokens
 * minus decoding 8 (loading cancels out). On a shared machine this is far steadier than
 * wall-clock tok/s, which mostly measures how much of the CPU the neighbours left us.
 */
async function cpuMsPerToken(model: string): Promise<number> {
  const once = async (n: number): Promise<number> => {
    const cmd = [join(bin, "llama-bench"), "-m", model, "-p", "0", "-n", String(n), "-r", "1", "--no-warmup",
      "-t", String(threads), "-lm", loadMode, "-o", "json"].map((a) => `'${a}'`).join(" ");
    // bash's `times` prints the shell's and then its children's user and system time
    const { stdout } = await run("bash", ["-c", `${cmd} >/dev/null 2>&1 || exit 1; times`]);
    const m = stdout.trim().split("\n")[1].match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
    if (!m) throw new Error(`cannot read CPU times from: ${stdout}`);
    return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
  };
  return ((await once(gen + 8)) - (await once(8))) / gen;
}

function summary(xs: number[]): { mean: number; rme: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  // 95% margin of error with a normal approximation; samples are few, so read it as a guide.
  return { mean, rme: (1.96 * sd) / Math.sqrt(xs.length) / mean };
}

const source = await synthesize({ shape, quant: "f16" });
console.log(`shape ${shape}; source for llama-quantize: ${source.path}`);
console.log(`llama.cpp tools: ${bin}; llama-bench -p 0 -n ${gen} -r ${reps} -t ${threads} -lm ${loadMode}, ${rounds} rounds in ABBA order\n`);

for (const quant of quants) {
  const synthetic = await synthesize({ shape, quant });
  const reference = join(cacheDir("bench"), `${shape}-${quant}-llama-quantize.gguf`);
  const have = await stat(reference).catch(() => null);
  if (!have) {
    await run("mkdir", ["-p", cacheDir("bench")]);
    const t0 = Date.now();
    await run(join(bin, "llama-quantize"), [source.path, reference, quant, String(threads)], { maxBuffer: 1 << 26 });
    console.log(`${quant}: llama-quantize took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const refBytes = (await stat(reference)).size;
  const [a, b] = [await tensorTypes(synthetic.path), await tensorTypes(reference)];
  const mismatches = [...b].filter(([name, type]) => a.get(name) !== type).map(([name, type]) => `${name}: synth ${a.get(name)} vs quantize ${type}`);
  const diff = ((synthetic.fileBytes - refBytes) / refBytes) * 100;
  console.log(`${quant}: synthetic ${synthetic.fileBytes} B, llama-quantize ${refBytes} B (${diff >= 0 ? "+" : ""}${diff.toFixed(3)} %)`);
  console.log(`${quant}: tensor types differ for ${mismatches.length} of ${b.size} tensors${mismatches.length ? ":\n  " + mismatches.slice(0, 10).join("\n  ") : ""}`);
  if (flag("types-only")) continue;
  const tps = { s: [] as number[], r: [] as number[] };
  const cpu = { s: [] as number[], r: [] as number[] };
  const measure = async (which: "s" | "r") => {
    const path = which === "s" ? synthetic.path : reference;
    tps[which].push(...(await decodeSamples(path)));
    cpu[which].push(await cpuMsPerToken(path));
  };
  // ABBA order, so that a trend in the machine's load does not favour whichever file runs first
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      await measure("s");
      await measure("r");
    } else {
      await measure("r");
      await measure("s");
    }
  }
  const line = (what: string, s: number[], r: number[], digits: number) => {
    const [ss, rs] = [summary(s), summary(r)];
    console.log(
      `${quant}: ${what} synthetic ${ss.mean.toFixed(digits)} ±${(ss.rme * 100).toFixed(1)} %, ` +
        `llama-quantize ${rs.mean.toFixed(digits)} ±${(rs.rme * 100).toFixed(1)} %, ratio ${(ss.mean / rs.mean).toFixed(3)}`,
    );
  };
  line("decode tok/s (wall)", tps.s, tps.r, 2);
  line("CPU ms per decoded token", cpu.s, cpu.r, 1);
  console.log("");
}
