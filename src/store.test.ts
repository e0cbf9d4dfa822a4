import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TuneResult } from "./types.js";
import { listStore, lookupStore, saveToStore, storeHistory, storeKeyOf } from "./store.js";

const fixture = fileURLToPath(new URL("../fixtures/results/hashwork-2core/result.json", import.meta.url));
const recorded = JSON.parse(readFileSync(fixture, "utf8")) as TuneResult;
const distStore = fileURLToPath(new URL("../dist/src/store.js", import.meta.url));

const dataDir = mkdtempSync(join(tmpdir(), "paratune-store-"));
process.env.PARATUNE_DATA_DIR = dataDir;
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("store", () => {
  it("finds a saved result under its key, and nothing under another machine's", async () => {
    const key = storeKeyOf(recorded);
    expect(lookupStore(key)).toBeNull();
    await saveToStore(recorded);
    const hit = lookupStore(key);
    expect(hit?.result.best?.config).toEqual(recorded.best?.config);
    expect(hit?.key).toEqual(key);
    expect(lookupStore({ ...key, fingerprint: "another-machine" })).toBeNull();
    expect(lookupStore({ ...key, objective: "value:minimize" })).toBeNull();
    // The store lives under PARATUNE_DATA_DIR.
    expect(readdirSync(join(dataDir, "store")).filter((f) => f.endsWith(".json"))).toHaveLength(1);
  });

  it("keys by the prompt and generation lengths, not by repetitions or key order", () => {
    const key = (settings: Record<string, number>) => storeKeyOf({ ...recorded, workload: { ...recorded.workload, kind: "llama", settings } });
    const a = key({ reps: 3, promptTokens: 64, genTokens: 32 });
    expect(key({ genTokens: 32, promptTokens: 64, reps: 5 })).toEqual(a);
    expect(key({ reps: 3, promptTokens: 64, genTokens: 128 }).workload).not.toBe(a.workload);
  });

  it("keys a tuning under a latency limit apart from plain throughput, and by the limit", () => {
    const key = (settings: Record<string, number>) => storeKeyOf({ ...recorded, workload: { ...recorded.workload, kind: "llama", settings } });
    const plain = key({ promptTokens: 64, genTokens: 32 });
    const limited = key({ promptTokens: 64, genTokens: 32, maxLatencyMs: 50 });
    expect(limited.workload).not.toBe(plain.workload);
    expect(key({ promptTokens: 64, genTokens: 32, maxLatencyMs: 100 }).workload).not.toBe(limited.workload);
    expect(key({ maxLatencyMs: 50, genTokens: 32, promptTokens: 64 })).toEqual(limited);
  });

  it("answers a key only with entries of its own workload, whatever file they were filed in", async () => {
    const withSettings = (settings: Record<string, number>): TuneResult => ({ ...recorded, workload: { ...recorded.workload, kind: "llama", settings } });
    const plainResult = withSettings({ promptTokens: 7, genTokens: 5 });
    const plain = storeKeyOf(plainResult);
    // A tuning under a latency limit saved under plain throughput's key.
    await saveToStore(withSettings({ promptTokens: 7, genTokens: 5, maxLatencyMs: 50 }), plain);
    expect(lookupStore(plain)).toBeNull();
    await saveToStore(plainResult, plain);
    expect(lookupStore(plain)?.result.workload.settings).toEqual({ promptTokens: 7, genTokens: 5 });
  });

  it("keeps every entry when several processes save to the same key at once", async () => {
    expect(existsSync(distStore), "run `npx tsc -p .` first: the writers run the compiled store.js").toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "paratune-store-race-"));
    const writers = 6;
    const each = 15;
    const child = `
      import { readFileSync } from "node:fs";
      import { saveToStore, storeKeyOf } from ${JSON.stringify(distStore)};
      const result = JSON.parse(readFileSync(${JSON.stringify(fixture)}, "utf8"));
      const writer = Number(process.argv[1]);
      for (let i = 0; i < ${each}; i++) {
        // A distinct marker per save, so the parent can tell which entries survived.
        await saveToStore({ ...result, tuner: "writer" + writer + "-" + i }, storeKeyOf(result), { dir: ${JSON.stringify(dir)}, maxEntries: 1000 });
      }
    `;
    const codes = await Promise.all(
      Array.from({ length: writers }, (_, w) => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", child, String(w)], { stdio: ["ignore", "ignore", "inherit"] });
        return new Promise<number | null>((resolve) => p.on("exit", resolve));
      }),
    );
    expect(codes).toEqual(Array(writers).fill(0));
    const history = storeHistory(storeKeyOf(recorded), { dir });
    const markers = history.map((e) => e.result.tuner).sort();
    const expected = Array.from({ length: writers }, (_, w) => Array.from({ length: each }, (_, i) => `writer${w}-${i}`)).flat().sort();
    expect(markers).toEqual(expected);
    // No lock directory or temporary file is left behind.
    expect(readdirSync(dir).filter((f) => !f.endsWith(".json"))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps only the newest entries per key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paratune-store-cap-"));
    for (let i = 0; i < 4; i++) await saveToStore({ ...recorded, tuner: `run${i}` }, undefined, { dir, maxEntries: 2 });
    expect(storeHistory(storeKeyOf(recorded), { dir }).map((e) => e.result.tuner)).toEqual(["run2", "run3"]);
    expect(listStore({ dir }).map((e) => e.result.tuner)).toEqual(["run3"]);
    rmSync(dir, { recursive: true, force: true });
  });
});
