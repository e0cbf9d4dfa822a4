// The public API: `import { probe, recommend, ... } from "paratune"`.
export * from "./types.js";
export { UserInputError, TrialError } from "./errors.js";
export { loadLandscape, parseLandscape, replay, type Landscape, type ReplayResult, type ReplayOptions } from "./replay.js";
export { createTuner, TUNER_NAMES, type TunerOptions } from "../tuners/index.js";
export { GaussianProcess, type GaussianProcessOptions } from "../models/gp.js";
export { synthesize, resolveShape, planSynthetic, SYNTH_QUANTS, PRESET_NAMES, type SynthesizeOptions, type SynthesizedModel, type ModelShape } from "./synth.js";
export { readModelInfo } from "./model-info.js";
export { probe, usableCpus } from "../probes/index.js";
export { LlamaWorkload, trialPlan, type LlamaWorkloadOptions } from "./workloads/llama.js";
export { CommandWorkload, type CommandWorkloadOptions } from "./workloads/command.js";
export { parseDuration } from "./workloads/duration.js";
export { tune, tuneRun, type TuneOptions, type TuneRun } from "./tune/index.js";
export { recommend, predictRecommendation, type RecommendOptions, type RecommendAnswer } from "./recommend.js";
export { writeOutputs, rebuildReport, loadResult, envBlock, renderEnv, mergeEnv, writeEnvFile, loadEnvMap, ENV_STYLES, type EnvStyle, type EnvMap, type OutputOptions, type WrittenOutputs, type Recommendation } from "./outputs/index.js";
export { saveToStore, lookupStore, listStore, storeKey, storeKeyOf, type StoreKey, type StoreEntry } from "./store.js";
export { createPerformanceModel, AdaptiveModel, RooflineModel, rooflinePriorMean, UslModel, fitUsl, SurrogateModel, evaluatePredictions, checkPick, predictionInterval, predictedSpeedup, type PerformanceModelOptions } from "../models/index.js";
