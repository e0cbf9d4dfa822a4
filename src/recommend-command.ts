// recommend() for a user's own command: the same question `paratune tune --cmd` answered, asked
// with the same flags, is answered from the store when this machine tuned it before; otherwise
// the command is tuned within the budget and remembered. A store hit loads neither the tuner nor
// the process library: the look-up is the probe's fingerprint, the command's identity and one
// file read.

import { probe } from "../probes/index.js";
import { UserInputError } from "./errors.js";
import { recommendationFromResult } from "./outputs/recommendation.js";
import { askingFor, DEFAULT_RECOMMEND_BUDGET_MS, storedAnswer, tunedAnswer, type RecommendAnswer, type RecommendOptions } from "./recommend-flow.js";
import { parseParamSpec } from "./space.js";
import { pickDefinition } from "./tune/definition.js";
import { storeKey } from "./store.js";
import type { Param, WorkloadDescription } from "./types.js";
import { commandObjective } from "./workloads/command-objective.js";
import { placeholders } from "./workloads/template.js";

/** The question as the store keys it: the command, its variables, its metric and its parameters' values. */
export function commandQuestion(options: RecommendOptions): { description: WorkloadDescription; params: Param[] } {
  const command = options.command ?? "";
  if (!command.trim()) throw new UserInputError("the command is empty", 'give one with --cmd "<command>"');
  if (options.models?.length || options.shape || options.quants?.length) {
    throw new UserInputError("--cmd asks about a command; --model, --shape and --quant about a llama model", "give one or the other");
  }
  // The rest of the flags' contradictions (a latency limit, which bounds a model's decoding) as tune() refuses them.
  pickDefinition(options);
  const params = Object.entries(options.params ?? {}).map(([name, spec]) => parseParamSpec(name, spec));
  const used = new Set([command, ...Object.values(options.env ?? {})].flatMap(placeholders).filter((n) => n !== "fidelity"));
  const missing = [...used].filter((n) => !params.some((p) => p.name === n));
  if (missing.length > 0) {
    throw new UserInputError(`the command uses {${missing.join("}, {")}} but no --param gives ${missing.length > 1 ? "their" : "its"} values`, `add --param ${missing[0]}=1,2,4 (the same flags as the tuning run)`);
  }
  if (params.length === 0) throw new UserInputError("nothing to recommend: the command has no {placeholders}", 'e.g. --cmd "./bench --threads {threads}" --param threads=1,2,4');
  const metric = options.metric ?? "wall";
  const description: WorkloadDescription = {
    kind: "command",
    objective: commandObjective(metric, options.direction),
    command,
    ...(options.env && Object.keys(options.env).length > 0 ? { env: options.env } : {}),
    metric,
    settings: {},
  };
  return { description, params };
}

export async function recommendCommand(options: RecommendOptions): Promise<RecommendAnswer> {
  const started = performance.now();
  const note = options.onNote ?? (() => {});
  const budgetMs = options.budgetMs ?? DEFAULT_RECOMMEND_BUDGET_MS;
  if (!(budgetMs >= 0) || !Number.isFinite(budgetMs)) throw new UserInputError(`budget must be 0 or a duration, got ${budgetMs} ms`, "e.g. --budget 2m");
  const { description, params } = commandQuestion(options);
  // The look-up needs the fingerprint only: no cache sizes, and no node-llama-cpp GPU check (a
  // child process that loads it), which a command workload never uses.
  const hardware = options.hardware ?? (await probe({ bandwidth: false, cacheSizes: false, llamaGpu: false }));
  const key = storeKey(hardware.fingerprint, description, params);
  const asking = askingFor(options, key, started, (entry) => recommendationFromResult(entry.result, "store"));
  const stored = await storedAnswer(asking);
  if (stored) return stored;
  if (budgetMs === 0) {
    throw new UserInputError(
      "this command was not tuned on this machine with these flags, and with --budget 0 there is nothing to answer from: no model predicts an arbitrary command",
      "give a budget to tune it now (e.g. --budget 2m), or ask with the exact flags of the earlier `paratune tune --cmd`",
    );
  }
  return tunedAnswer(asking, {
    budgetMs,
    waitingNote: "another paratune is tuning this command on this machine; waiting for its answer",
    run: async () => {
      // Loaded only on a miss: the tuner, the workloads and the charts cost seconds to import.
      const { tuneRun } = await import("./tuning.js");
      return tuneRun({
        command: options.command,
        params: options.params,
        env: options.env,
        metric: options.metric,
        direction: options.direction,
        reps: options.reps,
        budgetMs,
        tuner: options.tuner,
        seed: options.seed,
        outDir: options.outDir,
        hardware: options.hardware,
        signal: options.signal,
        progress: options.progress,
        onNote: note,
        envStyle: options.envStyle,
        envMap: options.envMap,
      });
    },
  });
}
