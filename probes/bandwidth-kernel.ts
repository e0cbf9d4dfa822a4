// The triad kernel a[i] = b[i] + s*c[i] that the bandwidth probe runs on each worker thread.
//
// A plain JavaScript loop over Float64Array reads far below what C reads on the same machine (one
// thread on the quiet 2-core dev VM: 6.9 GB/s plain, 8-10 GB/s unrolled 4 ways, against 22.8 GB/s
// for scalar C and 27.5 GB/s for AVX2 C; docs/measurements/2026-11-25-probes.md): V8 does not vectorise, and every element
// pays a bounds check. So the kernel is a tiny WebAssembly module, written out byte by byte below,
// whose loop does one 64-byte cache line per iteration with 128-bit SIMD loads and stores (22.9
// GB/s there). It reads the same memory as the JavaScript arrays: a shared WebAssembly.Memory is a
// SharedArrayBuffer that every worker maps. The JavaScript loop stays as the fallback for engines
// without WebAssembly SIMD.

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];

/**
 * The module: imports a shared memory "env.mem" and exports triad(a, b, c, n, s), where a, b, c
 * are byte offsets of 16-byte-aligned arrays and n is the element count, a multiple of 8.
 */
export function triadWasm(): Uint8Array {
  const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
  const LOAD = 0x00, STORE = 0x0b, SPLAT = 0x14, ADD = 0xf0, MUL = 0xf2;
  const [A, B, C, N, S, END, SV] = [0, 1, 2, 3, 4, 5, 6];
  const body: number[] = [
    2, 1, I32, 1, V128, // locals: end (i32), sv (v128)
    ...get(S), ...simd(SPLAT), ...set(SV),
    ...get(A), ...get(N), 0x41, 3, 0x74, 0x6a, ...set(END), // end = a + (n << 3)
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(A), ...get(END), 0x4f, 0x0d, 1, // if a >= end (unsigned) break
  ];
  for (const off of [0, 16, 32, 48]) {
    body.push(
      ...get(A),
      ...get(B), ...simd(LOAD, 4, ...uleb(off)),
      ...get(C), ...simd(LOAD, 4, ...uleb(off)),
      ...get(SV), ...simd(MUL), ...simd(ADD),
      ...simd(STORE, 4, ...uleb(off)),
    );
  }
  for (const p of [A, B, C]) body.push(...get(p), 0x41, 0xc0, 0x00, 0x6a, ...set(p)); // p += 64
  body.push(0x0c, 0, 0x0b, 0x0b, 0x0b); // br loop; end loop; end block; end func
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, F64, 0]),
    ...section(2, [1, ...name("env"), ...name("mem"), 0x02, 0x03, 0, ...uleb(65536)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("triad"), 0, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

// Control words in the Int32Array the main thread and the workers share.
export const CTRL = { GEN: 0, CMD: 1, ACTIVE: 2, READY: 3, DONE: 4, LEN: 5, SIZE: 8 } as const;
export const CMD = { INIT: 1, TRIAD: 2, EXIT: 3 } as const;

/**
 * The worker's source (CommonJS, run with `eval: true` so that it works the same from the
 * TypeScript sources under vitest and from dist/). Each worker waits for a new generation, does
 * its slice, stamps start and end times on a clock shared by all threads, and counts itself done.
 * Workers start a triad together: they spin on a ready counter so that one thread's early start
 * does not run alone on an idle memory bus.
 */
export const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { memory, module, ctrl, times, index, n } = workerData;
const G = ${CTRL.GEN}, CMD = ${CTRL.CMD}, ACTIVE = ${CTRL.ACTIVE}, READY = ${CTRL.READY}, DONE = ${CTRL.DONE};
const c = new Int32Array(ctrl);
const t = new Float64Array(times);
const f = new Float64Array(memory.buffer);
let triad;
if (module) {
  triad = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.triad;
} else {
  triad = (a, b, cc, len, s) => {
    a /= 8; b /= 8; cc /= 8;
    for (let i = 0; i < len; i += 4) {
      f[a + i] = f[b + i] + s * f[cc + i];
      f[a + i + 1] = f[b + i + 1] + s * f[cc + i + 1];
      f[a + i + 2] = f[b + i + 2] + s * f[cc + i + 2];
      f[a + i + 3] = f[b + i + 3] + s * f[cc + i + 3];
    }
  };
}
const now = () => performance.timeOrigin + performance.now();
let seen = 0;
for (;;) {
  Atomics.wait(c, G, seen);
  seen = Atomics.load(c, G);
  const cmd = Atomics.load(c, CMD);
  if (cmd === ${CMD.EXIT}) break;
  const active = Atomics.load(c, ACTIVE);
  if (index < active) {
    const per = Math.floor(n / active / 8) * 8;
    const lo = index * per;
    const hi = index === active - 1 ? n : lo + per;
    if (cmd === ${CMD.INIT}) {
      f.fill(0, lo, hi); f.fill(1, n + lo, n + hi); f.fill(2, 2 * n + lo, 2 * n + hi);
    } else {
      Atomics.add(c, READY, 1);
      while (Atomics.load(c, READY) < active) {}
      const t0 = now();
      triad(lo * 8, (n + lo) * 8, (2 * n + lo) * 8, hi - lo, 3.0);
      t[2 * index] = t0;
      t[2 * index + 1] = now();
    }
  }
  Atomics.add(c, DONE, 1);
  Atomics.notify(c, DONE);
}
`;
