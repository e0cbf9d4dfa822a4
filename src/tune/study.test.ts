import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandWorkload } from "../workloads/command.js";
import { createTuner } from "../../tuners/index.js";
import { configKey } from "../space.js";
import type { Fidelity, SearchSpace, Workload } from "../types.js";
import { Budget } from "./budget.js";
import { Journal, readJournal } from "./journal.js";
import { runStudy, type StudyOptions, trialKey } from "./study.js";
import { FinalRace } from "./race.js";

const program = fileURLToPath(new URL("./test-programs/landscape.mjs", import.meta.url));
const node = JSON.stringify(process.execPath);

const space: SearchSpace = {
  params: [
    { name: "a", kind: "ordinal", values: [1, 2, 4] },
    { name: "b", kind: "ordinal", values: [1, 2, 3] },
  ],
  constraints: [{ name: "memory", check: (c) => (Number(c.a) * Number(c.b) >= 12 ? "a x b needs more memory than there is" : null) }],
};
const baseline = { a: 1, b: 1 };

function workload(sleepMs: number, slowdown = 1) {
  return new CommandWorkload({ command: `${node} ${program} {a} {b} {fidelity} ${sleepMs} ${slowdown}`, metric: "score: ([0-9.]+)" });
}

/** The grid over `space` from the baseline, short trials at 1/3 then full ones (eta 2), in 60 s. */
function gridStudy(options: Partial<StudyOptions> = {}): StudyOptions {
  return { space, tuner: createTuner("grid", space), workload: workload(0), budget: new Budget(60_000), baseline, rungs: [1 / 3, 1], eta: 2, ...options };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "paratune-study-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("runStudy", () => {
  it("measures the baseline short and at full fidelity, promotes the best, never runs an infeasible configuration", async () => {
    const journal = new Journal(join(dir, "trials.jsonl"));
    const out = await runStudy(gridStudy({ journal }));
    journal.close();
    expect(out.ended).toBe("exhausted");
    expect(out.trials[0]).toMatchObject({ config: baseline, fidelity: 1 / 3, value: 11 });
    expect(out.trials[1]).toMatchObject({ config: baseline, fidelity: 1, value: 11 });
    // 8 feasible configurations, each run at 1/3 first.
    const short = out.trials.filter((t) => t.fidelity < 1);
    expect(short).toHaveLength(8);
    expect(out.trials.some((t) => t.config.a === 4 && t.config.b === 3)).toBe(false);
    // The best configuration (4,1) scores 41 and must have been promoted to full fidelity.
    const full = out.trials.filter((t) => t.fidelity === 1 && t.value !== null).sort((x, y) => y.value! - x.value!);
    expect(full[0].config).toEqual({ a: 4, b: 1 });
    expect(full[0].value).toBe(41);
    // Nothing ran twice at the same fidelity.
    const keys = out.trials.map((t) => trialKey(t.config, t.fidelity));
    expect(new Set(keys).size).toBe(keys.length);
    // The journal holds every trial, in order, one line each.
    const { records, tornLines } = readJournal(join(dir, "trials.jsonl"));
    expect(tornLines).toBe(0);
    expect(records.map((r) => r.id)).toEqual(out.trials.map((t) => t.id));
  });

  it("does not start a trial that the time left cannot fit, so it ends on time", async () => {
    const journal = new Journal(join(dir, "trials.jsonl"));
    const t0 = performance.now();
    // Each full trial sleeps 1.2 s; the budget (2.5 s) fits two at most, never a third.
    const out = await runStudy({
      space,
      tuner: createTuner("random", space, { seed: 3 }),
      workload: workload(1200),
      budget: new Budget(2500),
      journal,
      baseline,
      rungs: [1],
    });
    journal.close();
    const wall = performance.now() - t0;
    expect(out.ended).toBe("budget");
    expect(wall).toBeLessThan(2500 + 1000);
    expect(out.trials.length).toBeGreaterThanOrEqual(1);
    expect(out.trials.length).toBeLessThanOrEqual(2);
    for (const t of out.trials) expect(t.measurement.status).toBe("ok");
    expect(readJournal(join(dir, "trials.jsonl")).records).toHaveLength(out.trials.length);
  });

  it("cuts a trial that is still running at the deadline", async () => {
    const journal = new Journal(join(dir, "trials.jsonl"));
    const t0 = performance.now();
    const out = await runStudy({
      space,
      tuner: createTuner("grid", space),
      workload: workload(5000),
      budget: new Budget(1000),
      journal,
      baseline,
      rungs: [1],
    });
    journal.close();
    expect(out.ended).toBe("budget");
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out.trials).toHaveLength(0);
    expect(readJournal(join(dir, "trials.jsonl")).records).toHaveLength(0);
  });

  it("cuts a trial far slower than its peers and records it as a timeout", async () => {
    const out = await runStudy({
      space,
      tuner: createTuner("grid", space),
      // Oversubscribed configurations take 40x longer: 8 s instead of 0.2 s.
      workload: workload(200, 40),
      budget: new Budget(60_000),
      baseline,
      rungs: [1],
      slowTrialFactor: 3,
      minTrialLimitMs: 1000,
    });
    expect(out.ended).toBe("exhausted");
    const slow = out.trials.filter((t) => Number(t.config.a) * Number(t.config.b) > 4);
    expect(slow.length).toBeGreaterThan(0);
    for (const t of slow) {
      expect(t.measurement.status).toBe("timeout");
      expect(t.value).toBeNull();
      expect(t.measurement.durationMs).toBeLessThan(3000);
    }
    expect(out.trials.filter((t) => t.value !== null)).toHaveLength(8 - slow.length);
  });

  it("caps a short trial at a tenth of the tuning time (at least 20 s, at most a third), so a pathological baseline does not eat the budget", async () => {
    // The baseline here is an oversubscribed configuration: 100 ms x 1/3 x 40 = 1.3 s short.
    const notes: string[] = [];
    const out = await runStudy({
      space,
      tuner: createTuner("grid", space),
      workload: workload(100, 40),
      budget: new Budget(3000),
      baseline: { a: 4, b: 2 },
      rungs: [1 / 3, 1],
      minTrialLimitMs: 200,
      onNote: (n) => notes.push(n),
    });
    // Cut, said so, and not recorded (a longer budget may afford it); the rest of the run goes on.
    expect(notes.some((n) => /a=4 b=2: short trial cut .*a tenth of the tuning time, or 20 s/.test(n))).toBe(true);
    expect(out.trials.filter((t) => t.config.a === 4 && t.config.b === 2)).toHaveLength(0);
    expect(out.trials.filter((t) => t.value !== null).length).toBeGreaterThanOrEqual(2);
  });

  it("resumes from the journal without rerunning a journaled (config, fidelity)", async () => {
    const path = join(dir, "trials.jsonl");
    const first = new Journal(path);
    const run1 = await runStudy({
      space,
      tuner: createTuner("grid", space),
      // 8 short trials of 0.2 s and 9 full ones of 0.6 s do not fit in 4 s.
      workload: workload(600),
      budget: new Budget(4000),
      journal: first,
      baseline,
      rungs: [1 / 3, 1],
      eta: 2,
    });
    first.close();
    expect(run1.ended).toBe("budget");
    const before = readJournal(path).records;
    expect(before.length).toBeGreaterThan(1);

    const second = new Journal(path);
    const run2 = await runStudy({
      space,
      tuner: createTuner("grid", space),
      workload: workload(0),
      budget: new Budget(60_000),
      journal: second,
      previous: before,
      baseline,
      rungs: [1 / 3, 1],
      eta: 2,
    });
    second.close();
    expect(run2.ended).toBe("exhausted");
    const after = readJournal(path).records;
    const keys = after.map((t) => trialKey(t.config, t.fidelity));
    expect(new Set(keys).size).toBe(keys.length);
    // The old lines are untouched and the new trials continue the numbering.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after[before.length].id).toBe(Math.max(...before.map((t) => t.id)) + 1);
    // Together the two sessions covered every feasible configuration once at the lowest rung.
    const covered = new Set(after.map((t) => configKey(t.config)));
    expect(covered.size).toBe(8);
  });

  it("stops asking and aborts the running trial when interrupted", async () => {
    const controller = new AbortController();
    const journal = new Journal(join(dir, "trials.jsonl"));
    setTimeout(() => controller.abort(), 800);
    const t0 = performance.now();
    const out = await runStudy({
      space,
      tuner: createTuner("grid", space),
      workload: workload(3000),
      budget: new Budget(60_000),
      journal,
      baseline,
      rungs: [1],
      signal: controller.signal,
    });
    journal.close();
    expect(out.ended).toBe("interrupted");
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(out.trials).toHaveLength(0);
    expect(readFileSync(join(dir, "trials.jsonl"), "utf8")).toBe("");
  });
  it("ends with a race of the finalists, interleaved, and journals the race trials", async () => {
    const journal = new Journal(join(dir, "trials.jsonl"));
    const out = await runStudy(gridStudy({ journal, race: new FinalRace({ maxRounds: 4 }) }));
    journal.close();
    const race = out.race!;
    expect(race.entries.map((e) => e.config)).toEqual([{ a: 4, b: 1 }, { a: 2, b: 2 }, { a: 2, b: 1 }]);
    // The scores repeat exactly, so two rounds separate the leader and the race stops there.
    expect(race.rounds).toBe(2);
    expect(race.separated).toBe(true);
    expect(race.entries[0].values).toEqual([41, 41]);
    const raced = out.trials.filter((t) => t.phase === "race");
    // Interleaved: A B C A B C.
    expect(raced.map((t) => configKey(t.config))).toEqual([...race.entries, ...race.entries].map((e) => configKey(e.config)));
    expect(readJournal(join(dir, "trials.jsonl")).records.filter((t) => t.phase === "race")).toHaveLength(6);
  });
  it("lets a full trial add repetitions only where doubled it stays within the short-trial cap; race trials never", async () => {
    // Records the fidelity each trial was asked for.
    const watched = (inner: ReturnType<typeof workload>) => {
      const asked: { fidelity: Fidelity }[] = [];
      const w: Workload = { name: inner.name, objective: inner.objective, run: (c, f, s) => (asked.push({ fidelity: f }), inner.run(c, f, s)) };
      return { w, asked };
    };
    const long = watched(workload(0));
    const out = await runStudy(gridStudy({ workload: long.w, race: new FinalRace({ maxRounds: 2 }) }));
    const raceCount = out.trials.filter((t) => t.phase === "race").length;
    const fullAsked = long.asked.filter((a) => a.fidelity.level === 1);
    expect(raceCount).toBeGreaterThan(0);
    // The race's trials come last: they keep their planned repetitions, the others may add some.
    expect(fullAsked.slice(-raceCount).every((a) => a.fidelity.extendReps === false)).toBe(true);
    expect(fullAsked.slice(0, -raceCount).every((a) => a.fidelity.extendReps !== false)).toBe(true);
    // A 3 s study caps short trials at 1 s; a full trial of about 0.6 s, doubled, does not fit.
    const short = watched(workload(600));
    await runStudy(gridStudy({ workload: short.w, budget: new Budget(3_000) }));
    const shortFull = short.asked.filter((a) => a.fidelity.level === 1);
    expect(shortFull.length).toBeGreaterThan(0);
    expect(shortFull.every((a) => a.fidelity.extendReps === false)).toBe(true);
  });

  it("does not promote a configuration whose own short trial says its full one would take a quarter of the study", async () => {
    const slowBest = fileURLToPath(new URL("./test-programs/slow-best.mjs", import.meta.url));
    const out = await runStudy(
      gridStudy({
        // a = 4 scores best, and its short trial takes 100 x 300 ms x 1/3 = 10 s, its full one 30 s:
        // more than a quarter of the 100 s study.
        workload: new CommandWorkload({ command: `${node} ${slowBest} {a} {b} {fidelity} 300 100`, metric: "score: ([0-9.]+)" }),
        budget: new Budget(100_000),
        minTrialLimitMs: 20_000,
      }),
    );
    expect(out.trials.some((t) => t.config.a === 4 && t.fidelity < 1 && t.value !== null)).toBe(true);
    expect(out.trials.filter((t) => t.config.a === 4 && t.fidelity === 1)).toHaveLength(0);
    expect(out.trials.some((t) => t.config.a === 2 && t.fidelity === 1)).toBe(true);
  });
});
