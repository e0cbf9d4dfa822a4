import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { CommandWorkload } from "./command.js";
import { isAlive } from "./processes.js";
import { UserInputError } from "../errors.js";

const program = (name: string) => fileURLToPath(new URL(`./test-programs/${name}`, import.meta.url));
const node = JSON.stringify(process.execPath);
const pidsIn = (output: string) => /pids: ([\d ]+)/.exec(output)![1].trim().split(" ").map(Number);

describe("CommandWorkload", () => {
  it("fills placeholders and the environment, and reads the last match of the metric", async () => {
    const w = new CommandWorkload({
      command: `${node} ${program("metric.mjs")} {workers}`,
      env: { PARALLEL_WORKERS: "{threads}" },
      metric: "throughput: ([0-9.]+)",
      reps: 3,
    });
    expect(w.objective).toEqual({ metric: "value", direction: "maximize" });
    expect(w.parameters).toEqual(["workers", "threads"]);
    const m = await w.run({ workers: 4, threads: 7 }, { level: 1 });
    expect(m.status).toBe("ok");
    expect(m.samples).toEqual([407, 407, 407]);
    expect(m.metrics.value).toBe(407);
    expect(m.rme).toBe(0);
    expect(w.lastOutput).toContain("a line on stderr");
  });

  it("measures wall time, minimised, with fewer repetitions at low fidelity", async () => {
    const w = new CommandWorkload({ command: `${node} -e "setTimeout(() => {}, 300)"`, metric: "wall", reps: 4, warmup: 1 });
    expect(w.objective).toEqual({ metric: "wallMs", direction: "minimize" });
    const m = await w.run({}, { level: 0.5 });
    expect(m.samples).toHaveLength(2);
    expect(m.warmup).toBe(1);
    for (const s of m.samples) expect(s).toBeGreaterThanOrEqual(300);
    expect(m.metrics.wallMs).toBeGreaterThanOrEqual(300);
    expect(m.fidelity).toEqual({ level: 0.5 });
  });

  it("reports a failing program with its exit code and the tail of its output", async () => {
    const w = new CommandWorkload({ command: `${node} ${program("fail.mjs")}`, metric: "wall" });
    const m = await w.run({}, { level: 1 });
    expect(m.status).toBe("failed");
    expect(m.error).toContain("exited with code 3");
    expect(m.error).toContain("out of widgets");
  });

  it("treats a missing metric as a failed trial that quotes the output", async () => {
    const w = new CommandWorkload({ command: `${node} ${program("nometric.mjs")}`, metric: "tok/s: ([0-9.]+)" });
    const m = await w.run({}, { level: 1 });
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/was not found in the output/);
    expect(m.error).toContain("line 49");
  });

  it("ends a hanging program and every process it started when the timeout passes", async () => {
    const w = new CommandWorkload({ command: `${node} ${program("hang.mjs")}`, metric: "wall", timeoutMs: 1500 });
    const t0 = Date.now();
    const m = await w.run({}, { level: 1 });
    expect(m.status).toBe("timeout");
    expect(m.error).toMatch(/timed out after 2s/);
    // Three node processes for 1.5 s: the 1 s memory sampling saw them (VmHWM summed over the tree).
    expect(m.metrics.peakRssBytes).toBeGreaterThan(3 * 20 * 1024 * 1024);
    const pids = pidsIn(w.lastOutput);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} survived`).toBe(false);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 20_000);

  it("leaves nothing behind after a crash", async () => {
    const w = new CommandWorkload({ command: `${node} ${program("crash.mjs")}`, metric: "wall" });
    const m = await w.run({}, { level: 1 });
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/SIGABRT|code 134/);
    for (const pid of pidsIn(w.lastOutput)) expect(isAlive(pid), `pid ${pid} survived`).toBe(false);
  });

  it("stops when the study aborts", async () => {
    const w = new CommandWorkload({ command: `${node} ${program("hang.mjs")}`, metric: "wall" });
    const controller = new AbortController();
    // Late enough for the program to have started its children and printed their pids, even on a loaded machine.
    setTimeout(() => controller.abort(), 1500);
    const m = await w.run({}, { level: 1 }, controller.signal);
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/aborted/);
    for (const pid of pidsIn(w.lastOutput)) expect(isAlive(pid)).toBe(false);
  }, 20_000);

  it("calls a placeholder without a value infeasible, and rejects bad metrics up front", async () => {
    const w = new CommandWorkload({ command: "echo {gpus}", metric: "wall" });
    const m = await w.run({ workers: 2 }, { level: 1 });
    expect(m.status).toBe("infeasible");
    expect(m.error).toContain("{gpus}");
    expect(() => new CommandWorkload({ command: "echo", metric: "no group" })).toThrow(UserInputError);
    expect(() => new CommandWorkload({ command: "echo", metric: "(a)(b)" })).toThrow(/exactly one capture group, found 2/);
    expect(() => new CommandWorkload({ command: "echo", metric: "([" })).toThrow(UserInputError);
  });
});
