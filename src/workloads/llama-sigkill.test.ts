// A SIGKILL is called "out of memory" only on the kernel's word. Here the cgroup's OOM-kill
// counter is made unreadable (as on a machine without cgroup access), and the real worker is
// killed: the trial must say the cause is unknown, not guess.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

vi.mock("./processes.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("./processes.js")>()),
  oomKillCount: () => null,
}));

const { synthesize } = await import("../synth.js");
const { LlamaWorkload } = await import("./llama.js");
const { isAlive } = await import("./processes.js");

let dir: string;
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "paratune-sigkill-"));
  model = (await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir })).path;
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a worker killed by SIGKILL with no readable OOM counter", () => {
  it("is a failed trial whose reason says the cause is unknown", async () => {
    const w = new LlamaWorkload({ model, promptTokens: 8, genTokens: 4096, reps: 1 });
    const running = w.run({ workers: 1, threads: 1, sequences: 1 }, { level: 1 });
    const deadline = Date.now() + 20_000;
    while (w.workerPids.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const [pid] = w.workerPids;
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(pid, "SIGKILL");
    const m = await running;
    expect(m.status).toBe("failed");
    expect(m.error).toMatch(/killed by SIGKILL \(cause unknown: the cgroup's OOM-kill counter could not be read/);
    expect(m.error).not.toMatch(/\(out of memory\)/);
    expect(isAlive(pid)).toBe(false);
  }, 60_000);
});
