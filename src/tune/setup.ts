// How a study is set up from its definition: the workload that runs trials, the search space and
// its baseline, the fidelity rungs, the performance model that predicts, and the ranges that may
// grow. `paratune tune` runs it; `paratune tune --dry-run` only shows it.

import { RooflineModel } from "../../models/roofline.js";
import { createPerformanceModel } from "../../models/index.js";
import { UserInputError } from "../errors.js";
import { parseParamSpec } from "../space.js";
import type { Config, HardwareProfile, Param, PerformanceModel, Prediction, SearchSpace, TrialRecord, Workload, WorkloadDescription } from "../types.js";
import { CommandWorkload } from "../workloads/command.js";
import { scalingDimensions } from "../workloads/command-variables.js";
import { LlamaWorkload, trialPlan } from "../workloads/llama.js";
import type { Budget } from "./budget.js";
import type { StudyDefinition } from "./definition.js";
import { resolveModels } from "./model-source.js";
import { withinLatencyLimit, withLatencyLimit, withRequestLatency } from "./objective.js";
import { buildLlamaSpace, firstValuesBaseline, llamaBaseline, MAX_SEQUENCES_PER_WORKER } from "./space-builder.js";
import { EdgeGrowth, type GrowableRange, type SpaceGrowthPolicy } from "./space-growth.js";
import { gpuSpaceOptions } from "./gpu-space.js";

/**
 * A tuning trial at full fidelity times more repetitions (up to twice --reps) while its decode
 * rate's margin of error is above this: the numbers a recommendation rests on should be known to
 * about 5%, while short trials stay short.
 */
export const TUNE_TARGET_RME = 0.05;

export interface Setup {
  space: SearchSpace;
  workload: Workload;
  baseline: Config;
  rungs: number[];
  description: WorkloadDescription;
  priorMean?: (config: Config) => number;
  /** Prediction stored with each trial, from the model calibrated on the trials before it. */
  predictBefore?: (config: Config) => Prediction | null;
  learn?: (trials: TrialRecord[]) => void;
  /** Relative work of a configuration's trial, for judging its duration. */
  work?: (config: Config) => number;
  /** Ranges that grow while the best sit on their edge, and the policy that grows them. */
  growth?: SpaceGrowthPolicy;
  growthRanges?: GrowableRange[];
}

export function commandSetup(def: StudyDefinition, hardware: HardwareProfile): Setup {
  const params: Param[] = Object.entries(def.params ?? {}).map(([name, spec]) => parseParamSpec(name, spec));
  const reps = def.reps ?? 3;
  const workload = new CommandWorkload({ command: def.command!, env: def.env, metric: def.metric ?? "wall", direction: def.direction, reps });
  const missing = workload.parameters.filter((p) => !params.some((q) => q.name === p));
  if (missing.length > 0) {
    throw new UserInputError(`the command uses {${missing.join("}, {")}} but no --param gives ${missing.length > 1 ? "their" : "its"} values`, `add --param ${missing[0]}=1,2,4`);
  }
  if (params.length === 0) throw new UserInputError("nothing to tune: the command has no {placeholders}", 'e.g. --cmd "./bench --threads {threads}" --param threads=1,2,4');
  const space: SearchSpace = { params, constraints: [] };
  const setup: Setup = {
    space,
    workload,
    baseline: firstValuesBaseline(space),
    // Fewer repetitions is the only cheaper trial a command has; with one repetition there is none.
    rungs: reps >= 3 ? [1 / reps, 1] : [1],
    description: commandDescription(def, workload.objective, reps),
  };
  // No roofline for an arbitrary command: the USL over the placeholders that count processes or
  // threads (np, t, nodes, or one feeding OMP_NUM_THREADS), with no cliff at this machine's cores
  // since a launcher may spread them over hosts; or the GP surrogate, once trials have measured
  // something (a maximised, positive metric).
  if (workload.objective.direction === "maximize") {
    learnWith(setup, createPerformanceModel({ hardware, space, parallelParams: scalingDimensions(params, def.command, def.env) }));
  }
  return setup;
}

/** What a command tuning measured: the command, the variables it set and how its metric was read. */
export function commandDescription(
  def: Pick<StudyDefinition, "command" | "env" | "metric">,
  objective: WorkloadDescription["objective"],
  reps: number,
): WorkloadDescription {
  return {
    kind: "command",
    objective,
    command: def.command,
    ...(def.env && Object.keys(def.env).length > 0 ? { env: def.env } : {}),
    metric: def.metric ?? "wall",
    settings: { reps },
  };
}

export async function llamaSetup(
  def: StudyDefinition,
  hardware: HardwareProfile,
  budget: Budget,
  note: (s: string) => void,
  phase: (s: string) => void,
  signal?: AbortSignal,
): Promise<Setup> {
  const models = await resolveModels({ models: def.models, shape: def.shape, quants: def.quants, note, phase, signal, budget });
  const promptTokens = def.promptTokens ?? 64;
  const genTokens = def.genTokens ?? 32;
  const reps = def.reps ?? 3;
  // The worker sizes each sequence's context as prompt + generated + 8 (src/workloads/llama-worker.ts).
  const contextPerSequence = promptTokens + genTokens + 8;
  const gpu = await gpuSpaceOptions(hardware, models.map((m) => m.info), { perSequence: contextPerSequence, maxSequences: def.maxSequences, batchSizes: def.batchSizes }, note);
  const space = buildLlamaSpace(hardware, models.map((m) => m.info), {
    oversubscribe: def.oversubscribe,
    maxSequences: def.maxSequences,
    batchSizes: def.batchSizes,
    contextPerSequence,
    gpu,
  });
  const llama = new LlamaWorkload({ models: Object.fromEntries(models.map((m) => [m.info.quant, m.info.path])), promptTokens, genTokens, reps, targetRme: TUNE_TARGET_RME, gpuIndices: gpu?.gpuIndices });
  const objective = def.objective ?? "throughput";
  const workload =
    objective === "latency"
      ? withRequestLatency(llama, genTokens, (level) => trialPlan({ level }, genTokens, reps).genTokens)
      : def.maxLatencyMs !== undefined
        ? withLatencyLimit(llama, def.maxLatencyMs)
        : llama;
  const infos = models.map((m) => m.info);
  const description: WorkloadDescription = {
    kind: "llama",
    objective: workload.objective,
    models: infos,
    // threadPoolSize: the workers' libuv pool (1; results without it ran libuv's default of 4).
    settings: { promptTokens, genTokens, reps, contextPerSequence, ...(def.maxLatencyMs !== undefined ? { maxLatencyMs: def.maxLatencyMs } : {}), threadPoolSize: llama.threadPoolSize, ...(models[0].synthetic ? { synthetic: models[0].synthetic } : {}) },
  };
  const setup: Setup = {
    space,
    workload,
    baseline: llamaBaseline(space, hardware),
    // A short trial generates a quarter of the tokens once (at least 8, see trialPlan in
    // src/workloads/llama.ts); a full one all of them, `reps` times.
    rungs: [Math.min(1, Math.max(8 / genTokens, 1 / 9)), 1],
    description,
    // Every sequence of every worker is prompted and generates its tokens.
    work: (c) => Number(c.workers ?? 1) * Number(c.sequences ?? 1),
  };
  setup.growthRanges = [
    {
      param: "sequences",
      ceiling: Math.min(MAX_SEQUENCES_PER_WORKER, def.maxSequences ?? MAX_SEQUENCES_PER_WORKER),
      ceilingWhy: def.maxSequences !== undefined && def.maxSequences < MAX_SEQUENCES_PER_WORKER ? "--max-sequences" : `llama.cpp's limit of ${MAX_SEQUENCES_PER_WORKER} sequences per context`,
    },
  ];
  setup.growth = new EdgeGrowth(setup.growthRanges);
  if (objective === "throughput") {
    // The roofline predicts decode tok/s; for latency we have no model, and claim none.
    const contextTokens = promptTokens + genTokens / 2;
    const prior = new RooflineModel({ hardware, models: infos, contextTokens });
    const limitMs = def.maxLatencyMs;
    setup.priorMean = limitMs === undefined ? (c) => prior.predict(c).mean : (c) => withinLatencyLimit(prior.predict(c), c, limitMs);
    learnWith(setup, createPerformanceModel({ hardware, models: infos, space, contextTokens }));
  }
  return setup;
}

/**
 * Per-trial predictions from the models engineer's adaptive model (the roofline calibrated on
 * the trials so far, or whichever candidate cross-validates best once there are enough), refit
 * after every trial.
 */
function learnWith(setup: Setup, model: PerformanceModel): void {
  setup.predictBefore = (c) => safePredict(model, c);
  setup.learn = (trials) => {
    const observations = trials.map((t) => ({ config: t.config, status: t.measurement.status, value: t.value, fidelity: t.fidelity }));
    try {
      model.fit(observations);
    } catch {
      // A fit that fails keeps the previous one: predictions are an aid to the report, never a
      // reason to stop tuning.
    }
  };
}

function safePredict(model: PerformanceModel, config: Config): Prediction | null {
  try {
    const p = model.predict(config);
    return Number.isFinite(p.mean) ? p : null;
  } catch {
    return null;
  }
}

