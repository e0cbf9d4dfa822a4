// Durations as people type them on the command line: "90s", "10m", "1h30m", "500ms", or plain
// seconds ("45").
import { UserInputError } from "./errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `zero`: 0 is a meaningful answer (recommend's --budget 0: predict without measuring). */
export function parseDuration(text: string, what = "duration", options: { zero?: boolean } = {}): number {
  const trimmed = text.trim().toLowerCase();
  // Plain seconds read as if written with "s", so "0" is refused like "0s".
  const s = /^\d+(\.\d+)?$/.test(trimmed) ? `${trimmed}s` : trimmed;
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed !== s) {
    throw new UserInputError(`${what} "${text}" is not a duration`, 'write it like 30s, 10m, 1h30m or 500ms');
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0);
  if (ms === 0 && options.zero) return 0;
  if (ms <= 0) throw new UserInputError(`${what} "${text}" must be longer than zero`, "e.g. 30s or 10m");
  return Math.round(ms);
}
