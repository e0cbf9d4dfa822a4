// The variables a tuned command reads. A command gets its settings two ways: in its environment
// (`--env OMP_NUM_THREADS={t}`, or `VAR={x}` words in the command line itself, which is how a
// shell passes them) and on its command line (`mpirun -np {np}`). Only the first kind belongs in
// a .env, under the name the program reads; the second is named in a comment with the command
// line to run, because no variable could carry it. Which parameters count processes or threads
// (for the scaling fit and the performance model) is read from their names and the variables they
// feed.

import type { Config, Param } from "../types.js";
import { fillTemplate, placeholders, shellQuote } from "./template.js";

/** The command as tuned: its template and the variables it ran with, as templates. */
export interface CommandVariables {
  template: string;
  /** Every variable the command set: `--env` entries first, then assignments in the command line. */
  env: Record<string, string>;
}

/**
 * `NAME=value` words of the command line whose value uses a placeholder: `OMP_NUM_THREADS={t} ./prog`
 * or `mpirun -x OMP_NUM_THREADS={t}`. Upper-case names only, so that arguments such as
 * `make cc={cc}` or `key={v}` overrides of a Python config are not mistaken for the environment.
 */
export function commandLineAssignments(command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of command.matchAll(/(?:^|[\s;&|(])([A-Z_][A-Z0-9_]*)=([^\s'"`;&|()]*)/g)) {
    if (placeholders(m[2]).length > 0) out[m[1]] = m[2];
  }
  return out;
}

export function commandVariables(command: string, env: Record<string, string> = {}): CommandVariables {
  return { template: command, env: { ...commandLineAssignments(command), ...env } };
}

/** The variables whose template uses a parameter. */
export function variablesOf(vars: CommandVariables, param: string): string[] {
  return Object.entries(vars.env)
    .filter(([, template]) => placeholders(template).includes(param))
    .map(([name]) => name);
}

/** The parameters that reach the program only through its command line. */
export function commandLineOnly(vars: CommandVariables, config: Config): string[] {
  return Object.keys(config).filter((p) => variablesOf(vars, p).length === 0 && placeholders(vars.template).includes(p));
}

/** A variable's value for a configuration; null when its template needs a value the configuration lacks. */
export function variableValue(template: string, config: Config): string | null {
  try {
    return fillTemplate(template, config);
  } catch {
    return null;
  }
}

/** The command line a configuration runs, as the shell gets it; null when a placeholder has no value. */
export function commandLine(vars: CommandVariables, config: Config): string | null {
  try {
    return fillTemplate(vars.template, { fidelity: 1, ...config }, shellQuote);
  } catch {
    return null;
  }
}

/**
 * What a variable's name says it sets, so that `--env-style omp` knows which parameter is the
 * thread count when the user called it `t`: the variable it feeds is OMP_NUM_THREADS.
 */
export function conceptOfVariable(name: string): "threads" | "workers" | "batch" | null {
  const n = name.toUpperCase();
  if (/THREADS/.test(n)) return "threads";
  if (/BATCH/.test(n)) return "batch";
  if (/WORKERS|PROCS|PROCESSES|NPROC|WORLD_SIZE/.test(n)) return "workers";
  return null;
}

/** Parameter names read as a count of processes (ranks, workers, nodes, GPUs per node); not a bare `n`, which is as often a problem size. */
const PROCESS_NAMES = ["np", "nproc", "nprocs", "procs", "processes", "ranks", "workers", "tasks", "ntasks", "nodes", "nnodes", "gpus", "nprocpernode", "worldsize", "tpn", "ppn", "taskspernode", "ntaskspernode", "processespernode"];
/** Parameter names read as a count of threads per process. */
const THREAD_NAMES = ["t", "threads", "nthreads", "omp", "ompthreads", "threadsperworker", "threadsperprocess", "cpuspertask"];

const norm = (name: string) => name.toLowerCase().replace(/[_-]/g, "");

/** The parameters that count processes or threads: by name, or by the variable they set (OMP_NUM_THREADS). */
export function scalingDimensions(params: Param[], command?: string, env?: Record<string, string>): string[] {
  const vars = command ? commandVariables(command, env) : null;
  const numeric = (p: Param) => p.kind === "int" || (p.kind === "ordinal" && p.values.every((v) => Number.isInteger(v) && v >= 1));
  return params
    .filter(numeric)
    .filter((p) => {
      const n = norm(p.name);
      if (PROCESS_NAMES.includes(n) || THREAD_NAMES.includes(n)) return true;
      const concepts = vars ? variablesOf(vars, p.name).map(conceptOfVariable) : [];
      return concepts.includes("threads") || concepts.includes("workers");
    })
    .map((p) => p.name);
}
