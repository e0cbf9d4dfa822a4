// `paratune tune --dry-run`: what a tuning run would search, without running a trial. The same
// setup as the real run (src/tune/setup.ts) on this machine's probe or on a saved one, so that a
// user sees what will be tried and tests without a GPU can check a GPU machine's space.

import { probe } from "../../probes/index.js";
import { paramValues } from "../space.js";
import type { Config, HardwareProfile, ParamValue, SearchSpace, WorkloadDescription } from "../types.js";
import { Budget } from "./budget.js";
import { pickDefinition, type StudyDefinition } from "./definition.js";
import { FinalRace } from "./race.js";
import { commandSetup, llamaSetup } from "./setup.js";

export interface TuningPlan {
  hardware: {
    fingerprint: string;
    usableCpus: number;
    gpus: { name: string; vramFreeBytes: number }[];
    gpuBackend: string | null;
  };
  workload: WorkloadDescription;
  params: { name: string; values: ParamValue[] }[];
  /** Configurations of the starting space, and how many each constraint rules out (first reason only). */
  configurations: number;
  feasible: number;
  constraints: { name: string; ruledOut: number; example?: string }[];
  baseline: Config;
  growth: { param: string; from: number; ceiling: number; why: string }[];
  race: { finalists: number; maxShare: number };
}

/** Spaces larger than this are not enumerated to count what the constraints rule out. */
const MAX_COUNTED = 200_000;

/** How long model synthesis may take while planning (files are cached for the real run). */
const PLANNING_BUDGET_MS = 30 * 60_000;

export async function planTuning(options: StudyDefinition & { hardware?: HardwareProfile; onNote?: (note: string) => void }): Promise<TuningPlan> {
  const definition = pickDefinition(options);
  const note = options.onNote ?? (() => {});
  const hardware = options.hardware ?? (await probe({ bandwidth: true }));
  const setup = definition.command
    ? commandSetup(definition, hardware)
    : await llamaSetup(definition, hardware, new Budget(PLANNING_BUDGET_MS), note, () => {});
  await setup.workload.close?.();
  const race = new FinalRace();
  const counts = countConstraints(setup.space);
  return {
    hardware: {
      fingerprint: hardware.fingerprint,
      usableCpus: hardware.limits.cpus,
      gpus: hardware.gpus.map((g) => ({ name: g.name, vramFreeBytes: g.vramFreeBytes })),
      gpuBackend: hardware.gpuBackend?.backend ?? null,
    },
    workload: setup.description,
    params: setup.space.params.map((p) => ({ name: p.name, values: paramValues(p) })),
    ...counts,
    baseline: setup.baseline,
    growth: (setup.growthRanges ?? []).map((r) => ({
      param: r.param,
      from: startOf(setup.space, r.param),
      ceiling: r.ceiling,
      why: r.ceilingWhy,
    })),
    race: { finalists: race.finalists, maxShare: race.maxShare },
  };
}

function countConstraints(space: SearchSpace): Pick<TuningPlan, "configurations" | "feasible" | "constraints"> {
  const sizes = space.params.map((p) => paramValues(p).length);
  const total = sizes.reduce((a, b) => a * b, 1);
  const constraints = space.constraints.map((c) => ({ name: c.name, ruledOut: 0 as number, example: undefined as string | undefined }));
  if (total > MAX_COUNTED) return { configurations: total, feasible: Number.NaN, constraints };
  let feasible = 0;
  const walk = (i: number, config: Config): void => {
    if (i === space.params.length) {
      const k = space.constraints.findIndex((c) => c.check(config) !== null);
      if (k < 0) feasible++;
      else {
        constraints[k].ruledOut++;
        constraints[k].example ??= space.constraints[k].check(config) ?? undefined;
      }
      return;
    }
    for (const v of paramValues(space.params[i])) walk(i + 1, { ...config, [space.params[i].name]: v });
  };
  walk(0, {});
  return { configurations: total, feasible, constraints };
}

function startOf(space: SearchSpace, name: string): number {
  const p = space.params.find((q) => q.name === name);
  return p && p.kind === "int" ? p.max : Number.NaN;
}
