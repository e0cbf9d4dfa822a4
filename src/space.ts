// The search space: parameters, their encoding for models, enumeration and feasibility.
// Tuners and models see configurations only through these functions, so a new parameter kind
// is added here once.

import type { Config, Param, ParamValue, SearchSpace } from "./types.js";
import { UserInputError } from "./errors.js";

/** The finite list of values a parameter can take (ints are expanded; log ints to powers of two). */
export function paramValues(p: Param): ParamValue[] {
  if (p.kind === "ordinal" || p.kind === "categorical") return [...p.values];
  const out: number[] = [];
  if (p.log) {
    for (let v = Math.max(1, p.min); v <= p.max; v *= 2) out.push(v);
    if (out[out.length - 1] !== p.max) out.push(p.max);
  } else {
    for (let v = p.min; v <= p.max; v++) out.push(v);
  }
  return out;
}

/**
 * Maps one parameter value to [0, 1] for distance-based models. Integers and ordinals on a log
 * scale when their values are all positive and span more than a factor of 4 (threads 1..64 matter
 * by ratio, not by difference). Categoricals are not encoded here: see `encodeConfig`.
 */
export function encodeNumeric(p: Param, value: ParamValue): number {
  if (p.kind === "categorical") throw new Error(`parameter ${p.name} is categorical`);
  const values = paramValues(p) as number[];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (hi === lo) return 0;
  const v = Number(value);
  if (lo > 0 && hi / lo > 4) return (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  return (v - lo) / (hi - lo);
}

/** A config as a vector: one number per numeric parameter, one-hot for each categorical value. */
export function encodeConfig(space: SearchSpace, config: Config): number[] {
  const out: number[] = [];
  for (const p of space.params) {
    if (p.kind === "categorical") {
      for (const v of p.values) out.push(config[p.name] === v ? 1 : 0);
    } else {
      out.push(encodeNumeric(p, config[p.name]));
    }
  }
  return out;
}

/** Every configuration of the space (cartesian product), infeasible ones included. */
export function enumerate(space: SearchSpace): Config[] {
  let configs: Config[] = [{}];
  for (const p of space.params) {
    const next: Config[] = [];
    for (const c of configs) for (const v of paramValues(p)) next.push({ ...c, [p.name]: v });
    configs = next;
  }
  return configs;
}

/** The first reason a configuration is infeasible, or null. */
export function infeasibility(space: SearchSpace, config: Config): string | null {
  for (const c of space.constraints) {
    const why = c.check(config);
    if (why) return why;
  }
  return null;
}

export function feasibleConfigs(space: SearchSpace): Config[] {
  return enumerate(space).filter((c) => infeasibility(space, c) === null);
}

/** A canonical string for a configuration: the same config always gives the same key. */
export function configKey(config: Config): string {
  return Object.keys(config)
    .sort()
    .map((k) => `${k}=${config[k]}`)
    .join(",");
}

/** Parses "1,2,4,8" or "1..16" (powers of two with "1..16:log") into a parameter. */
export function parseParamSpec(name: string, spec: string): Param {
  const range = /^(\d+)\.\.(\d+)(:log)?$/.exec(spec.trim());
  if (range) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    if (min > max) throw new UserInputError(`parameter ${name}: range ${spec} is empty`, "write it as MIN..MAX");
    return { name, kind: "int", min, max, log: Boolean(range[3]) };
  }
  // Values that hold commas themselves (host lists: "a:2;a:2,b:2") are separated by semicolons.
  const parts = spec.split(spec.includes(";") ? ";" : ",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UserInputError(`parameter ${name} has no values`, "give values as 1,2,4 or a range 1..8");
  if (parts.every((s) => /^-?\d+(\.\d+)?$/.test(s))) {
    const values = [...new Set(parts.map(Number))].sort((a, b) => a - b);
    return { name, kind: "ordinal", values };
  }
  return { name, kind: "categorical", values: [...new Set(parts)] };
}
