// The flags that describe a command workload, read the same way by `tune` and `recommend`, so that
// a tuning run's command line asked again of `recommend` is the same question.
import { UserInputError } from "../errors.js";

export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--param name=values` pairs; the values stay text for parseParamSpec. */
export function parseParamFlags(pairs: string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(p);
    if (!m) throw new UserInputError(`--param ${p} is not name=values`, "e.g. --param threads=1,2,4,8");
    params[m[1]] = m[2];
  }
  return params;
}

/** `--env NAME=template` pairs (undefined when none), with one clear line for a malformed one. */
export function parseEnvFlags(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!m) throw new UserInputError(`--env ${pair} is not NAME=template`, "e.g. --env OMP_NUM_THREADS={t}");
    env[m[1]] = m[2];
  }
  return env;
}

export function parseSeed(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserInputError(`--seed must be a whole number, got "${v}"`);
  return n;
}
