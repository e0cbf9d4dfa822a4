// A landscape: a recorded table of measured configurations (JSON lines), read and checked. Replays
// (src/replay.ts) let it stand in for the machine, and models/evaluate.ts scores predictions on
// it. A configuration's objective is what was measured for it; a row with "ok": 0 or an objective
// of 0 is a failed trial; configurations not in the table are outside the space.

import { readFileSync } from "node:fs";
import { z } from "zod";
import { UserInputError } from "./errors.js";
import { configKey } from "./space.js";
import type { Config, Param, SearchSpace } from "./types.js";

const rowSchema = z.record(z.union([z.number(), z.string(), z.boolean(), z.null()]));

export interface LandscapeRow {
  config: Config;
  /** The objective as recorded, or null when the trial failed. */
  value: number | null;
  line: number;
}

export interface Landscape {
  source: string;
  params: Param[];
  objective: string;
  direction: "maximize" | "minimize";
  rows: LandscapeRow[];
  space: SearchSpace;
  best: LandscapeRow;
  lookup(config: Config): LandscapeRow | undefined;
}

export interface LoadLandscapeOptions {
  params: string[];
  objective: string;
  direction?: "maximize" | "minimize";
}

/** Reads a landscape (JSON lines) and checks it; every problem is one UserInputError line. */
export function loadLandscape(file: string, options: LoadLandscapeOptions): Landscape {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserInputError(`cannot read landscape ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseLandscape(text, file, options);
}

export function parseLandscape(text: string, source: string, options: LoadLandscapeOptions): Landscape {
  const { params: names, objective } = options;
  const direction = options.direction ?? "maximize";
  if (names.length === 0) throw new UserInputError("no parameters given", "name the landscape's parameter fields, e.g. --params workers,threads,sequences");
  const rows: LandscapeRow[] = [];
  const seen = new Map<string, number>();
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new UserInputError(`${source} line ${line}: not valid JSON`, "a landscape has one JSON object per line");
    }
    const parsed = rowSchema.safeParse(json);
    if (!parsed.success) throw new UserInputError(`${source} line ${line}: expected a JSON object of numbers and strings`);
    const fields = parsed.data;
    const config: Config = {};
    for (const name of names) {
      const v = fields[name];
      if (typeof v !== "number" && typeof v !== "string") {
        const known = Object.keys(fields).join(", ");
        throw new UserInputError(`${source} line ${line}: parameter "${name}" is missing`, `fields on that line: ${known}`);
      }
      config[name] = v;
    }
    const ok = fields.ok === undefined || fields.ok === 1 || fields.ok === true;
    const measured = fields[objective];
    if (ok && typeof measured !== "number") {
      throw new UserInputError(
        `${source} line ${line}: objective "${objective}" is missing or not a number`,
        `fields on that line: ${Object.keys(fields).join(", ")}`,
      );
    }
    const value = ok && typeof measured === "number" && measured !== 0 && Number.isFinite(measured) ? measured : null;
    const key = configKey(config);
    if (seen.has(key)) throw new UserInputError(`${source} line ${line}: configuration ${key} already on line ${seen.get(key)}`);
    seen.set(key, line);
    rows.push({ config, value, line });
  });
  if (rows.length === 0) throw new UserInputError(`${source} has no configurations`);
  const succeeded = rows.filter((r) => r.value !== null);
  if (succeeded.length === 0) throw new UserInputError(`${source}: every configuration failed, there is no best to reach`);
  const best = succeeded.reduce((a, b) => (better(b.value!, a.value!, direction) ? b : a));
  if (direction === "minimize" && best.value! <= 0) throw new UserInputError(`${source}: a minimized objective must be positive`);

  const params = names.map((name): Param => {
    const values = [...new Set(rows.map((r) => r.config[name]))];
    if (values.every((v) => typeof v === "number")) return { name, kind: "ordinal", values: (values as number[]).sort((a, b) => a - b) };
    return { name, kind: "categorical", values: values.map(String).sort() };
  });
  const byKey = new Map(rows.map((r) => [configKey(r.config), r]));
  const space: SearchSpace = {
    params,
    constraints: [{ name: "recorded", check: (c) => (byKey.has(configKey(c)) ? null : "not in the recorded landscape") }],
  };
  return { source, params, objective, direction, rows, space, best, lookup: (c) => byKey.get(configKey(c)) };
}

function better(a: number, b: number, direction: "maximize" | "minimize"): boolean {
  return direction === "maximize" ? a > b : a < b;
}

/** How close a value is to the landscape's best, as a fraction (1 = the best). */
export function fractionOfBest(landscape: Landscape, value: number | null): number {
  if (value === null) return 0;
  const best = landscape.best.value!;
  return landscape.direction === "maximize" ? value / best : best / value;
}
