// Command templates: "mpirun -np {workers} ./bench --threads {threads}" filled from a Config.
import type { Config } from "../types.js";

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The placeholder names a template uses, in order of first appearance. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

/** Quotes a value for /bin/sh unless it is plainly safe (numbers, paths, simple words). */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_.,:/=+@%-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Fills the template. Throws naming the first placeholder without a value, so a typo in the
 * command is reported before anything runs.
 */
export function fillTemplate(template: string, values: Config, quote: (v: string) => string = (v) => v): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in values)) throw new Error(`placeholder {${name}} has no value`);
    return quote(String(values[name]));
  });
}
