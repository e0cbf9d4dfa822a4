// A configuration stands by its trials at the highest fidelity it reached: a short trial's number
// is a hint (few tokens, a cold cache) and must not stand beside a full one as if they were the
// same measurement. Every ranking, report row and chart reads trials through these two.

import { configKey } from "./space.js";
import type { Config, TrialRecord } from "./types.js";

/**
 * Each configuration's trials (those `keep` accepts) at the highest fidelity it reached, keyed by
 * `configKey`, in trial order; configurations appear in the order of their first kept trial.
 */
export function highestFidelityTrials(trials: TrialRecord[], keep: (t: TrialRecord) => boolean = () => true): Map<string, TrialRecord[]> {
  const byKey = new Map<string, TrialRecord[]>();
  for (const t of trials) {
    if (!keep(t)) continue;
    const key = configKey(t.config);
    const group = byKey.get(key);
    if (!group || t.fidelity > group[0].fidelity) byKey.set(key, [t]);
    else if (t.fidelity === group[0].fidelity) group.push(t);
  }
  return byKey;
}

/** One configuration's trials (those `keep` accepts) at the highest fidelity it reached, in trial order. */
export function highestFidelityOf(trials: TrialRecord[], config: Config, keep: (t: TrialRecord) => boolean = () => true): TrialRecord[] {
  const key = configKey(config);
  return highestFidelityTrials(trials, (t) => configKey(t.config) === key && keep(t)).get(key) ?? [];
}

/**
 * Each configuration once, by its best trial at the highest fidelity it reached, ranked: higher
 * fidelity first (a measurement before a hint), then larger value. Failed trials do not stand.
 */
export function leadingTrials(trials: TrialRecord[]): TrialRecord[] {
  return [...highestFidelityTrials(trials, (t) => t.value !== null).values()]
    .map((group) => group.reduce((a, b) => (b.value! > a.value! ? b : a)))
    .sort((a, b) => b.fidelity - a.fidelity || b.value! - a.value!);
}
