// The command workload: any program whose speed depends on the parameters, run once per repetition
// with its placeholders filled from the configuration, e.g.
//   mpirun -np {workers} ./bench --threads {threads}      (metric read from its output)
//   python train.py  with PARALLEL_WORKERS={workers}      (metric: wall time)
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { constants as osConstants } from "node:os";
import type { Config, Fidelity, Measurement, Metrics, TrialStatus, Workload } from "../types.js";
import { UserInputError } from "../errors.js";
import { fillTemplate, placeholders, shellQuote } from "./template.js";
import { commandObjective } from "./command-objective.js";
import { summarize, unmeasured } from "../statistics.js";
import { killTree, MemorySampler, oomKillCount, processesWithEnv, processTree } from "./processes.js";

export interface CommandWorkloadOptions {
  /** Shell command with {name} placeholders. */
  command: string;
  /** Extra environment variables; values may hold placeholders too (PARALLEL_WORKERS={workers}). */
  env?: Record<string, string>;
  /** A regular expression with one capture group that finds the metric in the output, or "wall". */
  metric: string;
  /** Defaults: minimize for wall time, maximize for a metric read from the output. */
  direction?: "maximize" | "minimize";
  /** Per run of the command. */
  timeoutMs?: number;
  /** Timed runs at fidelity 1 (default 1). */
  reps?: number;
  /** Untimed runs before the timed ones (default 0). */
  warmup?: number;
  cwd?: string;
  /** Fixed placeholder values, overridden by the trial's configuration. */
  defaults?: Config;
  /** Called before each run of the command and once at the end (step === steps). */
  onProgress?: (step: number, steps: number) => void;
}

/** Set in every trial's environment, with a value of its own, to find all the processes it started. */
export const TRIAL_MARKER = "PARATUNE_TRIAL";
/** How long the output may keep arriving after the command and its leftovers have ended. */
const PIPE_DRAIN_MS = 1000;
/** Output kept per run: the tail, where metrics and errors are. */
const OUTPUT_LIMIT = 64 * 1024 * 1024;

/** stdout and stderr in the order they arrived, keeping the last OUTPUT_LIMIT bytes. */
class OutputBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.bytes += b.length;
    while (this.bytes - this.chunks[0].length >= OUTPUT_LIMIT) this.bytes -= this.chunks.shift()!.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** How much of the output a failure reason quotes. */
const TAIL_CHARS = 2000;

export function outputTail(output: string, chars = TAIL_CHARS): string {
  const trimmed = output.trimEnd();
  return trimmed.length <= chars ? trimmed : `...${trimmed.slice(-chars)}`;
}

/**
 * What a shell's exit code says beyond the number: 127 and 126 are the shell's own (no such
 * program, not executable), 128+n a program the shell ran that died of signal n.
 */
function exitCodeMeaning(code: number | null): string {
  if (code === 127) return " (command not found)";
  if (code === 126) return " (command not executable)";
  if (code !== null && code > 128 && code < 128 + 65) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return ` (${name})`;
  }
  return "";
}

/** A reason, followed by the output's tail when there was any output. */
function withTail(reason: string, output: string): string {
  const tail = outputTail(output);
  return tail ? `${reason}\n${tail}` : reason;
}

interface RunResult {
  status: TrialStatus;
  value?: number;
  wallMs: number;
  output: string;
  error?: string;
}

export class CommandWorkload implements Workload {
  readonly name = "command";
  readonly objective: { metric: string; direction: "maximize" | "minimize" };
  /** Output of the most recent run, kept for reports and debugging. */
  lastOutput = "";
  private readonly regex: RegExp | null;
  private readonly timeoutMs: number;
  private readonly reps: number;
  private readonly warmup: number;

  constructor(private readonly options: CommandWorkloadOptions) {
    if (!options.command.trim()) throw new UserInputError("the command is empty", 'give one with --cmd "<command>"');
    for (const name of Object.keys(options.env ?? {})) {
      // A shell drops a variable whose name it cannot parse, so the command would never see it.
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new UserInputError(`environment variable name "${name}" is not valid`, "use letters, digits and _, not starting with a digit (e.g. MY_THREADS={threads})");
      }
    }
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
      throw new UserInputError(`the timeout must be longer than zero, got ${options.timeoutMs} ms`, "e.g. --timeout 30s");
    }
    if (options.metric === "wall") {
      this.regex = null;
    } else {
      try {
        this.regex = new RegExp(options.metric, "gm");
      } catch (err) {
        throw new UserInputError(`--metric is not a valid regular expression: ${(err as Error).message}`);
      }
      // A probe match on the empty string counts the pattern's groups without running the command.
      const groups = new RegExp(`${options.metric}|`).exec("")!.length - 1;
      if (groups !== 1) {
        throw new UserInputError(
          `--metric needs exactly one capture group, found ${groups}`,
          "e.g. --metric 'throughput: ([0-9.]+)', or --metric wall for the run time",
        );
      }
    }
    this.objective = commandObjective(this.regex ? options.metric : "wall", options.direction);
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.reps = Math.max(1, Math.floor(options.reps ?? 1));
    this.warmup = Math.max(0, Math.floor(options.warmup ?? 0));
  }

  /** Placeholders the configuration must supply (those not fixed by `defaults`). */
  get parameters(): string[] {
    const names = [this.options.command, ...Object.values(this.options.env ?? {})].flatMap(placeholders);
    return [...new Set(names)].filter((n) => n !== "fidelity" && !(n in (this.options.defaults ?? {})));
  }

  /** Repetitions at a fidelity: all of them at level 1, proportionally fewer (at least one) below. */
  repsAt(fidelity: Fidelity): number {
    return fidelity.level >= 1 ? this.reps : Math.max(1, Math.round(this.reps * fidelity.level));
  }

  async run(config: Config, fidelity: Fidelity = { level: 1 }, signal?: AbortSignal): Promise<Measurement> {
    const started = performance.now();
    const values: Config = { ...this.options.defaults, ...config, fidelity: fidelity.level };
    const base = (status: TrialStatus, error?: string): Measurement =>
      unmeasured(this.objective.metric, fidelity, started, status, error);
    let command: string;
    const env: Record<string, string> = {};
    try {
      command = fillTemplate(this.options.command, values, shellQuote);
      for (const [name, template] of Object.entries(this.options.env ?? {})) env[name] = fillTemplate(template, values);
    } catch (err) {
      return base("infeasible", (err as Error).message);
    }

    const samples: number[] = [];
    const metrics: Metrics = {};
    const total = this.warmup + this.repsAt(fidelity);
    for (let i = 0; i < total; i++) {
      this.options.onProgress?.(i, total);
      if (signal?.aborted) return base("failed", "aborted");
      const r = await this.runOnce(command, env, signal);
      // A run too short for one memory sample reports no memory rather than zero.
      if (r.peakRssBytes > 0) metrics.peakRssBytes = Math.max(metrics.peakRssBytes ?? 0, r.peakRssBytes);
      if (r.status !== "ok") return { ...base(r.status, r.error), metrics: { ...metrics, wallMs: r.wallMs } };
      if (i >= this.warmup) samples.push(this.regex ? r.value! : r.wallMs);
    }
    this.options.onProgress?.(total, total);
    const { mean, rme } = summarize(samples);
    metrics[this.objective.metric] = mean;
    if (this.regex) metrics.wallMs = undefined;
    return {
      status: "ok",
      metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => v !== undefined)),
      primary: this.objective.metric,
      samples,
      warmup: this.warmup,
      rme,
      durationMs: performance.now() - started,
      fidelity,
    };
  }

  private async runOnce(
    command: string,
    env: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<RunResult & { peakRssBytes: number }> {
    const oomBefore = oomKillCount();
    const marker = randomUUID();
    const t0 = performance.now();
    // detached: the command gets its own process group, so a timeout can end mpirun and its ranks
    // too. The marker variable finds the ones that leave the group (setsid, daemons).
    const child = spawn(command, {
      shell: true,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      cwd: this.options.cwd,
      env: { ...process.env, ...env, [TRIAL_MARKER]: marker },
    });
    const out = new OutputBuffer();
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => out.push(b));
    const pipesClosed = Promise.all([once(child.stdout, "close"), once(child.stderr, "close")]).catch(() => undefined);
    // The command's own end: 'exit' fires when the shell ends, even while a background child it
    // left still holds stdout open; 'close' would wait for that child too.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
      child.once("exit", (code, sig) => resolve({ code, signal: sig }));
      child.once("error", (err) => resolve({ code: null, signal: null, spawnError: err }));
    });
    const pid = child.pid;
    const others = () => processesWithEnv(TRIAL_MARKER, marker);
    const sampler = new MemorySampler(() => (pid ? processTree(pid) : []), 1000).start();
    let ended: "timeout" | "aborted" | null = null;
    let cleanup: Promise<number[]> | null = null;
    const stop = (why: "timeout" | "aborted") => {
      if (ended || !pid) return;
      ended = why;
      cleanup = killTree(pid, 2000, true, others);
    };
    const timer = setTimeout(() => stop("timeout"), this.timeoutMs);
    const onAbort = () => stop("aborted");
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    const exit = await exited;
    const wallMs = performance.now() - t0;
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    sampler.stop();
    // Whatever the command left running (backgrounded, or started by a shell that exec'd and
    // died) ends now, which also closes the pipes it held.
    const leftovers = pid ? await (cleanup ?? killTree(pid, 500, true, others)) : [];
    // A pipe held by a process we could not end must not hold the trial: wait briefly, then let go.
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([pipesClosed, new Promise((resolve) => (drainTimer = setTimeout(resolve, PIPE_DRAIN_MS)))]);
    clearTimeout(drainTimer);
    child.stdout.destroy();
    child.stderr.destroy();
    if (exit.spawnError) {
      return { status: "failed", wallMs, output: "", error: `the command could not be started: ${exit.spawnError.message}`, peakRssBytes: 0 };
    }
    const output = out.text();
    this.lastOutput = output;
    return this.outcome({ exitCode: exit.code, signal: exit.signal }, ended, wallMs, output, leftovers, oomBefore, sampler.peakRssBytes);
  }

  /** What a finished run amounts to: ok with the metric it printed, or the status and why not. */
  private outcome(
    result: { exitCode: number | null; signal: NodeJS.Signals | null },
    ended: "timeout" | "aborted" | null,
    wallMs: number,
    output: string,
    leftovers: number[],
    oomBefore: number | null,
    peakRssBytes: number,
  ): RunResult & { peakRssBytes: number } {
    const mem = { peakRssBytes };
    const stray = leftovers.length > 0 ? ` (processes ${leftovers.join(", ")} could not be ended)` : "";
    if (ended === "timeout") {
      return { status: "timeout", wallMs, output, error: withTail(`timed out after ${Math.round(this.timeoutMs / 1000)}s${stray}`, output), ...mem };
    }
    if (ended === "aborted") return { status: "failed", wallMs, output, error: `aborted${stray}`, ...mem };
    if (result.exitCode !== 0 || result.signal) {
      const oomAfter = oomKillCount();
      const oom = oomBefore !== null && oomAfter !== null && oomAfter > oomBefore;
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}${exitCodeMeaning(result.exitCode)}`;
      return {
        status: oom ? "oom" : "failed",
        wallMs,
        output,
        error: withTail(`command ${how}${oom ? " (out of memory)" : ""}${stray}`, output),
        ...mem,
      };
    }
    if (!this.regex) return { status: "ok", wallMs, output, ...mem };
    const matches = [...output.matchAll(this.regex)];
    // The last match: programs often print progress lines before the final figure.
    const captured = matches.length > 0 ? matches[matches.length - 1][1] : undefined;
    const value = captured === undefined ? Number.NaN : Number.parseFloat(captured);
    if (!Number.isFinite(value)) {
      const why = captured === undefined ? `the metric /${this.options.metric}/ was not found in the output` : `the metric matched "${captured}", which is not a number`;
      return { status: "failed", wallMs, output, error: withTail(why, output), ...mem };
    }
    return { status: "ok", value, wallMs, output, ...mem };
  }
}
