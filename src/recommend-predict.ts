// recommend() with a budget of 0: the answer from the performance model alone, no trial. Kept
// apart from recommend.ts so that a store hit does not load the models.

import { RooflineModel } from "../models/roofline.js";
import { predictionInterval } from "../models/interval.js";
import { UserInputError } from "./errors.js";
import { configKey, feasibleConfigs, infeasibility } from "./space.js";
import { buildLlamaSpace, llamaBaseline } from "./tune/space-builder.js";
import { gpuSpaceOptions } from "./tune/gpu-space.js";
import type { Config, HardwareProfile, ModelInfo, Prediction } from "./types.js";
import { recommendationHardware, metricUnit, speedupOf, type Recommendation, type SettingEffect } from "./outputs/recommendation.js";
import { llamaObjective } from "./tune/objective.js";

export interface PredictOptions {
  promptTokens: number;
  genTokens: number;
  objective: "throughput" | "latency" | undefined;
  maxSequences?: number;
  batchSizes?: number[];
  oversubscribe?: boolean;
  onNote?: (note: string) => void;
}

/**
 * The answer without a trial: the roofline's prediction over every feasible configuration of the
 * same search space tune() would explore. Configurations predicted within 1% of the best are
 * treated as equal and the one using the fewest workers and threads wins, because the roofline
 * saturates (once memory-bound, more threads predict the same) and spare cores are worth keeping.
 */
export async function predictRecommendation(hardware: HardwareProfile, models: ModelInfo[], options: PredictOptions): Promise<Recommendation> {
  if (options.objective === "latency") {
    throw new UserInputError("with --budget 0 only throughput can be predicted: the models have no latency prediction", "give a budget (e.g. --budget 2m) to measure latency");
  }
  const objective = llamaObjective(options.objective);
  const contextPerSequence = options.promptTokens + options.genTokens + 8;
  const space = buildLlamaSpace(hardware, models, {
    contextPerSequence,
    maxSequences: options.maxSequences,
    batchSizes: options.batchSizes,
    oversubscribe: options.oversubscribe,
    gpu: await gpuSpaceOptions(hardware, models, { perSequence: contextPerSequence, maxSequences: options.maxSequences, batchSizes: options.batchSizes }, options.onNote ?? (() => {})),
  });
  const model = new RooflineModel({ hardware, models, contextTokens: options.promptTokens + options.genTokens / 2 });
  const predicted = new Map<string, { config: Config; p: Prediction }>();
  const predict = (config: Config): Prediction | null => {
    const k = configKey(config);
    const seen = predicted.get(k);
    if (seen) return seen.p;
    try {
      const p = model.predict(config);
      if (!Number.isFinite(p.mean) || p.mean <= 0) return null;
      predicted.set(k, { config, p });
      return p;
    } catch {
      return null;
    }
  };
  const feasible = feasibleConfigs(space);
  for (const c of feasible) predict(c);
  const all = [...predicted.values()];
  if (all.length === 0) throw new UserInputError("no configuration of this model fits this machine", "see `paratune tune` for the reasons (memory, cores)");
  const top = Math.max(...all.map((x) => x.p.mean));
  const cost = (c: Config) => Number(c.workers ?? 1) * Number(c.threads ?? 1) * 1000 + Number(c.sequences ?? 1);
  const best = all.filter((x) => x.p.mean >= top * 0.99).sort((a, b) => cost(a.config) - cost(b.config))[0];
  const baseline = llamaBaseline(space, hardware);
  const base = predict(baseline);
  const effects: Record<string, SettingEffect> = {};
  for (const name of Object.keys(best.config)) {
    const b = baseline[name] ?? best.config[name];
    // A twin the constraints rule out (more threads than cores, say) is no comparison a user could make.
    const twinConfig = { ...best.config, [name]: b };
    const twin = b === best.config[name] ? best.p : infeasibility(space, twinConfig) ? null : predict(twinConfig);
    effects[name] = { baseline: b, speedup: twin ? speedupOf(best.p.mean, twin.mean, objective.direction) : null };
  }
  const modelFor = models.find((m) => m.quant === best.config.quant) ?? models[0];
  return {
    source: "predicted",
    config: best.config,
    baseline,
    objective,
    expected: { value: best.p.mean, rme: null, interval: predictionInterval(best.p), unit: metricUnit(objective.metric), basis: "predicted" },
    baselineValue: base?.mean ?? null,
    speedup: base ? speedupOf(best.p.mean, base.mean, objective.direction) : null,
    effects,
    confidence: {
      level: "low",
      reason: `predicted by the ${model.name} model from the probe and the model file over ${feasible.length} feasible configurations; no trial ran, so nothing here is measured`,
    },
    modelPath: modelFor.path,
    hardware: recommendationHardware({ hardware }),
    createdAt: new Date().toISOString(),
    note: "Predicted from the performance model alone (budget 0): no trial ran. Give a budget to measure.",
    trials: 0,
  };
}
