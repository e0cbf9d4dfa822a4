import { describe, expect, it } from "vitest";
import { arrayBytesFor, measureBandwidth, threadCounts } from "./bandwidth.js";
import { triadWasm } from "./bandwidth-kernel.js";

const MIB = 1024 * 1024;

describe("bandwidth plan", () => {
  it("runs 1, 2, 4, ... and ends at the usable count", () => {
    expect(threadCounts(1)).toEqual([1]);
    expect(threadCounts(2)).toEqual([1, 2]);
    expect(threadCounts(6)).toEqual([1, 2, 4, 6]);
    expect(threadCounts(16)).toEqual([1, 2, 4, 8, 16]);
    // A 2.5-CPU quota runs 1 and 2; 12 physical cores of 24 SMT threads adds 12.
    expect(threadCounts(2.5)).toEqual([1, 2]);
    expect(threadCounts(24, [12, 24, 40])).toEqual([1, 2, 4, 8, 12, 16, 24]);
  });
  it("sizes arrays at 4x all L3, within a quarter of memory and WebAssembly's 4 GiB", () => {
    expect(arrayBytesFor(32 * MIB, 24e9)).toEqual({ bytes: 128 * MIB, note: null });
    expect(arrayBytesFor(null, 24e9).bytes).toBe(128 * MIB);
    // The H200 host's 300 MiB L3: 1200 MiB per array, 3.5 GiB in all.
    expect(arrayBytesFor(300 * MIB, 256e9).bytes).toBe(1200 * MIB);
    // Eight 32 MiB L3s (a 64-core EPYC): 4x is 1 GiB per array; 4 GiB of WebAssembly memory caps it.
    const big = arrayBytesFor(2048 * MIB, 512e9);
    expect(3 * big.bytes).toBeLessThanOrEqual(4 * 1024 * MIB);
    expect(big.note).toMatch(/arrays only 0\.7x L3/);
  });
});

describe("the WebAssembly triad kernel", () => {
  it("validates and computes a = b + s*c over the slice it is given, and nothing else", () => {
    const bytes = triadWasm();
    const W = (globalThis as any).WebAssembly;
    expect(W.validate(bytes)).toBe(true);
    const memory = new W.Memory({ initial: 1, maximum: 1, shared: true });
    const f = new Float64Array(memory.buffer);
    const n = 64;
    for (let i = 0; i < n; i++) {
      f[n + i] = i;
      f[2 * n + i] = 10 * i;
    }
    f.fill(-1, 0, n);
    const { triad } = new W.Instance(new W.Module(bytes), { env: { mem: memory } }).exports;
    // Elements 8..39 only (32 elements: four 64-byte lines).
    triad(8 * 8, (n + 8) * 8, (2 * n + 8) * 8, 32, 0.5);
    for (let i = 0; i < n; i++) expect(f[i]).toBe(i >= 8 && i < 40 ? i + 0.5 * 10 * i : -1);
  });
});

describe("measureBandwidth", () => {
  it("measures a curve on real worker threads (small arrays, quick)", async () => {
    const seen: number[] = [];
    const bw = await measureBandwidth({ maxThreads: 2, l3TotalBytes: null, availableBytes: 1e9, arrayBytes: 32 * MIB, reps: 3, onPoint: (p) => seen.push(p.threads) });
    expect(bw.curve.map((p) => p.threads)).toEqual([1, 2]);
    expect(seen).toEqual([1, 2]);
    // Any machine that runs Node streams more than 0.5 GB/s; a broken timer or byte count does not.
    for (const p of bw.curve) expect(p.gbps).toBeGreaterThan(0.5);
    expect(bw.singleGbps).toBe(bw.curve[0].gbps);
    expect(bw.peakGbps).toBe(Math.max(...bw.curve.map((p) => p.gbps)));
    expect(bw.method).toMatch(/^WebAssembly SIMD triad .* 3 arrays x 32 MiB, best of 3/);
  });
  it("keeps the plain JavaScript kernel as a fallback", async () => {
    const bw = await measureBandwidth({ maxThreads: 1, l3TotalBytes: null, availableBytes: 1e9, arrayBytes: 16 * MIB, reps: 2, kernel: "js" });
    expect(bw.curve).toHaveLength(1);
    expect(bw.curve[0].gbps).toBeGreaterThan(0.1);
    expect(bw.method).toMatch(/^JavaScript triad/);
  });
});
