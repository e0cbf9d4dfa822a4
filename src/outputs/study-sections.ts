// Report sections about how the study reached its answer: the final race that decided it, the
// ranges that grew while the best sat on their edge, and, on a machine with a GPU, the best
// configuration on the GPU against the best on the CPU alone.

import { describeConfig, formatBytes } from "../format.js";
import { leadingTrials } from "../trials.js";
import type { TuneResult } from "../types.js";
import { formatRme, formatValue } from "./recommendation.js";
import { mdTable } from "./markdown.js";

export function raceSection(result: TuneResult): string[] {
  const race = result.race;
  if (!race) return [];
  const rows = race.finalists.map((f) => {
    const n = f.values.length;
    const mean = n ? f.values.reduce((a, b) => a + b, 0) / n : null;
    const ranked = result.ranking.find((r) => describeConfig(r.config) === describeConfig(f.config));
    const none = f.trialIds.length === 0 ? "not run: the time kept for the race ran out" : "failed";
    return [describeConfig(f.config), f.values.map((v) => formatValue(v)).join(", ") || none, formatValue(mean), n > 1 ? formatRme(ranked?.measured?.rme) || "-" : "-"];
  });
  return [
    "## Final race",
    "",
    `The ${race.finalists.length} best configurations were measured again in turn (${raceTrialCounts(race.finalists.map((f) => f.trialIds.length))}), so that the answer does not rest on ` +
      `one trial that happened to read high. ${race.separated ? "Decided" : "Not decided"}: ${race.why}.` +
      ((race.fidelity ?? 1) < 1 ? ` Its trials were short ones (fidelity ${race.fidelity}): not even one round of full trials fitted in the time left, so they rank the finalists against each other but do not measure a full run.` : ""),
    "",
    mdTable(["finalist", `race trials (${result.workload.objective.metric})`, "mean", "±"], rows),
    "",
  ];
}

/** "2 rounds" when every finalist ran as often, else each one's count: a round cut short by the deadline is not a round. */
function raceTrialCounts(counts: number[]): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (counts.every((n) => n === counts[0])) return plural(counts[0], "round");
  return `${counts.join(", ")} race trials, in the order of the table: the time kept for the race ran out mid-round`;
}

export function growthSection(result: TuneResult): string[] {
  const g = result.growth;
  if (!g || (g.events.length === 0 && g.ends.length === 0)) return [];
  const out = ["## Search space", ""];
  for (const e of g.events) out.push(`- ${e.param} grew from at most ${e.from} to ${e.to} after ${e.afterTrials} trials: ${e.why}.`);
  for (const e of g.ends) out.push(`- ${e.param} ended at most ${e.max}: ${e.why}.`);
  out.push("");
  return out;
}

/** Best on the GPU against best on the CPU alone, each at the highest fidelity it reached. */
export function gpuSection(result: TuneResult): string[] {
  if (!result.params.some((p) => p.name === "gpuLayers")) return [];
  const leading = leadingTrials(result.trials);
  const gpu = leading.find((t) => Number(t.config.gpuLayers ?? 0) > 0);
  const cpu = leading.find((t) => Number(t.config.gpuLayers ?? 0) === 0);
  const h = result.hardware;
  const unit = result.workload.objective.metric;
  const line = (label: string, t: (typeof leading)[number] | undefined) =>
    t
      ? `- ${label}: ${describeConfig(t.config)}: ${formatValue(Math.abs(t.value!))} ${unit} ${formatRme(t.measurement.rme)} (${t.fidelity >= 1 ? "full trial" : "short trial"}, ran on ${t.measurement.backend ?? "?"}${t.measurement.metrics.vramBytes ? `, ${formatBytes(t.measurement.metrics.vramBytes)} VRAM in use` : ""})`
      : `- ${label}: none measured`;
  const out = ["## GPU against CPU", ""];
  out.push(`- GPU: ${h.gpus.map((g) => `${g.name} (${formatBytes(g.vramFreeBytes)} free at tuning time)`).join(", ")}; node-llama-cpp backend: ${h.gpuBackend?.backend ?? "not probed"}`);
  out.push(line("Best with layers on the GPU", gpu), line("Best on the CPU alone", cpu));
  if (gpu && cpu && gpu.value !== null && cpu.value !== null && result.workload.objective.direction === "maximize") {
    out.push(`- The GPU configuration measured ${(gpu.value / cpu.value).toPrecision(3)}x the CPU one.`);
  }
  out.push("");
  return out;
}
