// The terminal view of `paratune tune --dry-run`, and reading a saved hardware profile for it.
import { readFileSync } from "node:fs";
import { UserInputError } from "../errors.js";
import { describeConfig, formatBytes, table } from "../format.js";
import type { TuningPlan } from "../tune/plan.js";
import { CLEARLY_BEATEN } from "../tune/race.js";
import type { HardwareProfile } from "../types.js";

/** A profile saved with `paratune probe --json` (the whole output, or its "hardware" field). */
export function readProfile(path: string): HardwareProfile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UserInputError(`cannot read hardware profile ${path}: ${(err as Error).message.split("\n")[0]}`, "save one with: paratune probe --json > profile.json");
  }
  const profile = (data as { hardware?: unknown }).hardware ?? data;
  const p = profile as Partial<HardwareProfile>;
  if (!p || typeof p !== "object" || !p.cpu || !p.limits || !p.memory || !Array.isArray(p.gpus)) {
    throw new UserInputError(`${path} is not a hardware profile (no cpu, limits, memory and gpus)`, "save one with: paratune probe --json > profile.json");
  }
  return { gpuLinks: [], warnings: [], ...p } as HardwareProfile;
}

export function describePlan(plan: TuningPlan): string {
  const lines: string[] = [];
  const gpus = plan.hardware.gpus.map((g) => `${g.name} (${formatBytes(g.vramFreeBytes)} free)`).join(", ");
  lines.push(`machine ${plan.hardware.fingerprint}: ${plan.hardware.usableCpus} usable CPUs${gpus ? `; GPU ${gpus}, node-llama-cpp backend: ${plan.hardware.gpuBackend ?? "none"}` : "; no GPU"}`);
  const models = plan.workload.models?.map((m) => `${m.name} (${formatBytes(m.fileBytes)})`).join(", ");
  lines.push(`workload: ${plan.workload.kind}${models ? ` - ${models}` : plan.workload.command ? ` - ${plan.workload.command}` : ""}; objective ${plan.workload.objective.metric} (${plan.workload.objective.direction})`);
  lines.push("");
  lines.push(table([["parameter", "values"], ...plan.params.map((p) => [p.name, p.values.join(", ")])]));
  lines.push("");
  const feasible = Number.isFinite(plan.feasible) ? `${plan.feasible} feasible` : "too many to count";
  lines.push(`${plan.configurations} configurations, ${feasible}`);
  for (const c of plan.constraints) lines.push(`  ${c.name}: rules out ${c.ruledOut}${c.example ? `, e.g. ${c.example}` : ""}`);
  for (const g of plan.growth) lines.push(`  ${g.param} starts at most ${g.from} and may grow to ${g.ceiling} (${g.why}) while the best sit on the edge`);
  lines.push(`baseline: ${describeConfig(plan.baseline)}`);
  lines.push(`final race: up to ${plan.race.finalists} of the best (the two best always, others unless the best beats them over ${CLEARLY_BEATEN}x) measured again in turn, in up to ${Math.round(plan.race.maxShare * 100)}% of the time`);
  return `${lines.join("\n")}\n`;
}
