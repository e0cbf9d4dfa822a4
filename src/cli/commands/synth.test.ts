// Runs the built CLI (dist/, as `npm test` builds first) in a child process.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../../../bin/paratune.js", import.meta.url));
let cache: string;
const env = () => ({ PARATUNE_CACHE_DIR: cache });

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), "paratune-synth-cli-"));
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe("paratune synth", () => {
  it("writes each requested type into the cache and reports it as JSON, then reuses it", async () => {
    const r = await execa("node", [bin, "synth", "--shape", "tiny", "--quant", "q4_0,q8_0", "--json"], { env: env() });
    const out = JSON.parse(r.stdout);
    expect(out.map((m: any) => m.quant)).toEqual(["q4_0", "q8_0"]);
    expect(out.every((m: any) => m.reused === false && m.path.startsWith(join(cache, "models")))).toBe(true);
    expect((await readdir(join(cache, "models"))).sort()).toHaveLength(2);
    const again = JSON.parse((await execa("node", [bin, "synth", "--shape", "tiny", "--quant", "q4_0", "--json"], { env: env() })).stdout);
    expect(again[0]).toMatchObject({ reused: true, path: out[0].path });
  });

  it("removes the partial file when interrupted with SIGINT", async () => {
    const out = await mkdtemp(join(cache, "interrupted-"));
    const child = execa("node", [bin, "synth", "--shape", "tinyllama-1.1b", "--quant", "f16", "--out", out], { env: env(), reject: false });
    // wait until the temporary file exists, then interrupt
    for (let i = 0; i < 600 && (await readdir(out)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await readdir(out))[0]).toMatch(/\.partial$/);
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/interrupted/);
    expect(await readdir(out)).toEqual([]);
  });

  it("lists presets and quantizations", async () => {
    const r = await execa("node", [bin, "synth", "--list", "--json"]);
    const out = JSON.parse(r.stdout);
    expect(out.presets.map((p: any) => p.name)).toEqual(expect.arrayContaining(["tiny", "tinyllama-1.1b", "qwen2.5-0.5b"]));
    expect(out.quants).toEqual(expect.arrayContaining(["f16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"]));
  });

  it("answers an unknown preset with what is supported, exit code 2 and no stack", async () => {
    const r = await execa("node", [bin, "synth", "--shape", "llama-9000b", "--quant", "q4_0"], { env: env(), reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown shape "llama-9000b"/);
    expect(r.stderr).toMatch(/tinyllama-1\.1b/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("answers an unsupported type the same way", async () => {
    const r = await execa("node", [bin, "synth", "--shape", "tiny", "--quant", "iq2_xxs"], { env: env(), reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown quantization "iq2_xxs"[\s\S]*q4_k_m/);
  });
});
