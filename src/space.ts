// The search space: parameters, their encoding for models, enumeration and feasibility.
// Tuners and models see configurations only through these functions, so a new parameter kind
// is added here once.

import type { Config, Param, ParamValue, SearchSpace } from "./types.js";
import { UserInputError } from "./errors.js";

/**
 * Spaces up to this many configurations are listed in full; larger ones (a --param t=1..100000)
 * are only ever sampled, so that no step costs time or memory in proportion to the space.
 */
export const ENUMERATION_LIMIT = 20_000;

/** How many values a parameter takes, without listing them. */
export function paramCount(p: Param): number {
  if (p.kind === "ordinal" || p.kind === "categorical") return p.values.length;
  if (!p.log) return p.max - p.min + 1;
  const lo = Math.max(1, p.min);
  if (lo > p.max) return 0;
  const powers = Math.floor(Math.log2(p.max / lo) + 1e-9) + 1;
  return lo * 2 ** (powers - 1) === p.max ? powers : powers + 1;
}

/** The i-th value of `paramValues(p)`, without listing them. */
export function paramValueAt(p: Param, i: number): ParamValue {
  if (p.kind === "ordinal" || p.kind === "categorical") return p.values[i];
  if (!p.log) return p.min + i;
  return Math.min(p.max, Math.max(1, p.min) * 2 ** i);
}

/** The smallest and largest value of a numeric parameter. */
function numericRange(p: Param): { lo: number; hi: number } {
  if (p.kind === "int") return { lo: p.log ? Math.max(1, p.min) : p.min, hi: p.max };
  const values = p.values as number[];
  return { lo: Math.min(...values), hi: Math.max(...values) };
}

/** The number of configurations in the space, infeasible ones included (may exceed 2^53). */
export function spaceSize(space: SearchSpace): number {
  return space.params.reduce((n, p) => n * paramCount(p), 1);
}

/** The finite list of values a parameter can take (ints are expanded; log ints to powers of two). */
export function paramValues(p: Param): ParamValue[] {
  if (p.kind === "ordinal" || p.kind === "categorical") return [...p.values];
  const n = paramCount(p);
  if (n > ENUMERATION_LIMIT) throw new Error(`parameter ${p.name} has ${n} values, too many to list; sample it`);
  return Array.from({ length: n }, (_, i) => paramValueAt(p, i));
}

/**
 * Maps one parameter value to [0, 1] for distance-based models. Integers and ordinals on a log
 * scale when their values are all positive and span more than a factor of 4 (threads 1..64 matter
 * by ratio, not by difference). Categoricals are not encoded here: see `encodeConfig`.
 */
export function encodeNumeric(p: Param, value: ParamValue): number {
  if (p.kind === "categorical") throw new Error(`parameter ${p.name} is categorical`);
  const { lo, hi } = numericRange(p);
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
  const size = spaceSize(space);
  if (size > ENUMERATION_LIMIT) throw new Error(`the space holds ${size} configurations, too many to list; sample it`);
  let configs: Config[] = [{}];
  for (const p of space.params) {
    const next: Config[] = [];
    for (const c of configs) for (const v of paramValues(p)) next.push({ ...c, [p.name]: v });
    configs = next;
  }
  return configs;
}

/**
 * Up to `count` distinct feasible configurations drawn uniformly at random, none of which
 * `skip` rejects. Costs time in proportion to `count`, never to the size of the space; gives
 * fewer when the draws keep landing on rejected or repeated ones.
 */
export function sampleConfigs(space: SearchSpace, rng: () => number, count: number, skip: (c: Config) => boolean = () => false): Config[] {
  const out = new Map<string, Config>();
  const counts = space.params.map(paramCount);
  for (let attempt = 0; attempt < count * 20 && out.size < count; attempt++) {
    const config: Config = {};
    space.params.forEach((p, i) => (config[p.name] = paramValueAt(p, Math.floor(rng() * counts[i]))));
    const key = configKey(config);
    if (out.has(key) || skip(config) || infeasibility(space, config) !== null) continue;
    out.set(key, config);
  }
  return [...out.values()];
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
  const range = /^(-?\d+)\.\.(-?\d+)(:log)?$/.exec(spec.trim());
  if (range) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) {
      throw new UserInputError(`parameter ${name}: range ${spec} goes beyond the integers paratune can count exactly`, `keep both ends within ±${Number.MAX_SAFE_INTEGER}`);
    }
    if (min > max) throw new UserInputError(`parameter ${name}: range ${spec} is empty`, "write it as MIN..MAX");
    if (range[3] && max < 1) throw new UserInputError(`parameter ${name}: a :log range needs a positive end, got ${spec}`, "e.g. 1..64:log");
    return { name, kind: "int", min, max, log: Boolean(range[3]) };
  }
  // Anything with ".." that is not a whole-number range is a typo, not a category named "1..x".
  if (spec.includes("..")) {
    throw new UserInputError(`parameter ${name}: "${spec}" is not a range of whole numbers`, "write a range as MIN..MAX (e.g. 1..16, or 1..16:log for powers of two), or list values: 1,2,4");
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
