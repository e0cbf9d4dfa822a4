// A llama workload worker: one process, one model (mmap-ed, so the page cache shares it between
// workers), one context with S sequences. Runs from dist/ as a child of the llama workload.
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type Token } from "node-llama-cpp";
import type { DecodeProfile, ParentMessage, RepResult, ThreadTime, WorkerMemory, WorkerMessage, WorkerSettings } from "./llama-protocol.js";
import { readMemoryUse, readPeakRss, readThreadTimes, type ThreadSample } from "./processes.js";

const settings = JSON.parse(process.argv[2] ?? "{}") as WorkerSettings;
const now = () => performance.timeOrigin + performance.now();

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function ownMemory(): WorkerMemory | undefined {
  const use = readMemoryUse(process.pid);
  const peak = readPeakRss(process.pid);
  if (!use) return undefined;
  return { rssBytes: use.rssBytes, pssBytes: use.pssBytes, peakRssBytes: Math.max(peak ?? 0, use.rssBytes) };
}

// The parent going away (killed, crashed) must not leave workers computing for nobody.
process.on("disconnect", () => process.exit(0));

/**
 * A deterministic prompt of exactly `length` tokens: ordinary text tokens cycling through the
 * vocabulary, skipping the first ids where llama vocabularies keep control tokens.
 */
function makePrompt(length: number, vocabSize: number, seed: number): Token[] {
  const low = vocabSize > 1024 ? 256 : 1;
  const span = Math.max(1, vocabSize - low - 1);
  return Array.from({ length }, (_, i) => (low + ((seed * 7919 + i * 104729) % span)) as Token);
}

async function main(): Promise<void> {
  const t0 = now();
  let model;
  let llama;
  try {
    llama = await getLlama({
      gpu: settings.gpuLayers > 0 ? "auto" : false,
      // 0 = no cap: the thread count we pass is the one llama.cpp uses, even above the core count.
      maxThreads: 0,
      build: "never",
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    });
    // node-llama-cpp falls back to its CPU binary, without an error, when the GPU binary fails its
    // load test; a GPU trial measured on the CPU would be a wrong number, so it fails instead.
    if (settings.gpuLayers > 0 && llama.gpu === false) {
      const seen = process.env.CUDA_VISIBLE_DEVICES === undefined ? "" : `, CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES}`;
      throw new Error(`no GPU backend loaded (node-llama-cpp fell back to the CPU${seen}; see docs/gpu.md)`);
    }
    model = await llama.loadModel({ modelPath: settings.modelPath, gpuLayers: settings.gpuLayers, useMmap: true });
  } catch (err) {
    send({ type: "error", stage: "load", message: (err as Error).message });
    process.exit(1);
  }
  const loadMs = now() - t0;
  const t1 = now();
  let context;
  try {
    context = await model.createContext({
      sequences: settings.sequences,
      // Each sequence gets its own cells: prompt + generated tokens, plus a little room.
      contextSize: settings.promptTokens + settings.maxGenTokens + 8,
      batchSize: settings.batch,
      threads: settings.threads,
      flashAttention: settings.flashAttention,
      failedCreationRemedy: false,
      ignoreMemorySafetyChecks: true,
    });
  } catch (err) {
    send({ type: "error", stage: "context", message: (err as Error).message });
    process.exit(1);
  }
  const sequences = Array.from({ length: settings.sequences }, () => context.getSequence());
  if (process.env.PARATUNE_LLAMA_PROFILE === "1") profile = instrument(context);
  const vocabSize = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length || 2;
  send({
    type: "ready",
    loadMs,
    contextMs: now() - t1,
    contextSize: context.contextSize,
    vramBytes: llama.gpu ? (await llama.getVramState()).used : 0,
    backend: llama.gpu === false ? "cpu" : llama.gpu,
    gpuLayers: model.gpuLayers,
    memory: ownMemory(),
  });

  process.on("message", (message: ParentMessage) => {
    if (message.type === "exit") {
      void context.dispose().finally(() => process.exit(0));
      return;
    }
    if (message.type === "go") {
      runRep(sequences, message.rep, message.genTokens, vocabSize, message.promptTokens ?? settings.promptTokens).then(
        (result) => send({ type: "result", result: { ...result, memory: ownMemory() } }),
        (err: Error) => {
          send({ type: "error", stage: "run", message: err.message });
          process.exit(1);
        },
      );
    }
  });
}

let profile: DecodeProfile | undefined;

/**
 * Wraps node-llama-cpp's native context calls to count decode calls and time them and the
 * samplers. Internal API, used only for the fidelity study; a trial never depends on it.
 */
function instrument(context: unknown): DecodeProfile {
  const p: DecodeProfile = { decodeCalls: 0, decodeMs: 0, sampleCalls: 0, sampleMs: 0 };
  const holder = context as { _ctx?: Record<string, unknown> };
  const native = holder._ctx;
  if (!native) return p;
  const timed = (fn: (...args: unknown[]) => Promise<unknown>, count: "decodeCalls" | "sampleCalls", ms: "decodeMs" | "sampleMs") =>
    async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await fn(...args);
      } finally {
        p[count]++;
        p[ms] += performance.now() - t;
      }
    };
  // The native object's methods cannot be reassigned, so the context gets a proxy in its place.
  const decode = timed((native.decodeBatch as (...a: unknown[]) => Promise<unknown>).bind(native), "decodeCalls", "decodeMs");
  const sample = timed((native.sampleToken as (...a: unknown[]) => Promise<unknown>).bind(native), "sampleCalls", "sampleMs");
  holder._ctx = new Proxy(native, {
    get(target, prop) {
      if (prop === "decodeBatch") return decode;
      if (prop === "sampleToken") return sample;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return p;
}

/** The worker's CPU use so far: getrusage totals and each live thread's scheduler times. */
function cpuSnapshot(): { usage: NodeJS.ResourceUsage; threads: Map<number, ThreadSample> } {
  return { usage: process.resourceUsage(), threads: readThreadTimes(process.pid) };
}

/** What a thread of this worker is, from its id and name (Node 20 leaves libuv's and V8's unnamed: "other"). */
function threadKind(tid: number, name: string): string {
  if (tid === process.pid) return "js";
  if (name.startsWith("libuv-worker")) return "libuv";
  if (name.startsWith("V8 ")) return "v8";
  return "other";
}

/** CPU use between two snapshots, threads grouped by kind; a thread born in between counts whole. */
function cpuBetween(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>): Pick<DecodeProfile, "cpuMs" | "involuntarySwitches" | "threads" | "ranked"> {
  const threads: Record<string, ThreadTime> = {};
  const ranked: ThreadTime[] = [];
  for (const [tid, t] of b.threads) {
    const before = a.threads.get(tid);
    const kind = threadKind(tid, t.name);
    const entry = (threads[kind] ??= { runMs: 0, waitMs: 0 });
    const one = { runMs: (t.runNs - (before?.runNs ?? 0)) / 1e6, waitMs: (t.waitNs - (before?.waitNs ?? 0)) / 1e6 };
    entry.runMs += one.runMs;
    entry.waitMs += one.waitMs;
    ranked.push(one);
  }
  ranked.sort((x, y) => y.runMs - x.runMs);
  const cpu = (u: NodeJS.ResourceUsage) => (u.userCPUTime + u.systemCPUTime) / 1000;
  return {
    cpuMs: cpu(b.usage) - cpu(a.usage),
    involuntarySwitches: b.usage.involuntaryContextSwitches - a.usage.involuntaryContextSwitches,
    threads,
    ranked,
  };
}

const nextMacrotask = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One repetition: every sequence gets its prompt and generates exactly `genTokens` tokens, greedy,
 * end-of-generation tokens included (they are fed back like any other token).
 */
async function runRep(sequences: LlamaContextSequence[], rep: number, genTokens: number, vocabSize: number, promptTokens: number): Promise<RepResult> {
  await Promise.all(sequences.map((s) => s.clearHistory()));
  const before = profile ? { ...profile } : undefined;
  const cpuBefore = profile ? cpuSnapshot() : undefined;
  const startedAt = now();
  const ttft: number[] = new Array(sequences.length).fill(Number.NaN);
  const last: number[] = new Array(sequences.length).fill(Number.NaN);
  const generated: number[] = new Array(sequences.length).fill(0);
  const prompts = sequences.map((_, i) => makePrompt(promptTokens, vocabSize, rep * 131 + i));
  const decodeOnly = settings.dispatch === "decode-only";
  const iterators = decodeOnly
    ? []
    : sequences.map((s, i) => s.evaluate(prompts[i], { temperature: 0, yieldEogToken: true }));
  const mark = (i: number): void => {
    const t = now();
    if (generated[i] === 0) ttft[i] = t - startedAt;
    generated[i]++;
    last[i] = t;
  };
  const step = async (i: number): Promise<void> => {
    const r = await iterators[i].next();
    if (r.done) throw new Error(`sequence ${i} stopped after ${generated[i]} of ${genTokens} tokens`);
    mark(i);
  };
  // decode-only: node-llama-cpp's own no-sampling evaluation (what its embedding and ranking
  // contexts use): one llama_decode with the last token's logits computed, then the iterator ends
  // without running a sampler. The first call feeds the prompt, the later ones the prompt's tokens
  // again, one per step. Each call still constructs (and drops) a sampler object on the JS thread.
  const feed = async (i: number, tokens: Token[]): Promise<void> => {
    const it = sequences[i].evaluate(tokens, { _noSampling: true } as Parameters<LlamaContextSequence["evaluate"]>[1]);
    // `_noSampling` is internal to node-llama-cpp: if a release stops honouring it, the iterator
    // would yield sampled tokens and keep generating; stop rather than measure something else.
    if (!(await it.next()).done) {
      await it.return(undefined);
      throw new Error("decode-only dispatch: this node-llama-cpp version ignored _noSampling (it sampled a token)");
    }
    mark(i);
  };
  try {
    if (decodeOnly) {
      await Promise.all(sequences.map((_, i) => feed(i, prompts[i])));
      for (let k = 1; k < genTokens; k++) {
        await nextMacrotask();
        await Promise.all(sequences.map((_, i) => feed(i, [prompts[i][k % prompts[i].length]])));
      }
    } else if (settings.dispatch === "lockstep") {
      // All sequences ask for their next token in the same macrotask, so node-llama-cpp's batcher
      // sees all of them before it dispatches and puts them in one llama_decode call. Waiting
      // one macrotask between steps lets the previous dispatch loop end first; otherwise it picks
      // up the sequences that resumed early and splits the step into two decode calls.
      for (let k = 0; k < genTokens; k++) {
        await Promise.all(sequences.map((_, i) => step(i)));
        await nextMacrotask();
      }
    } else {
      await Promise.all(
        sequences.map(async (_, i) => {
          while (generated[i] < genTokens) await step(i);
        }),
      );
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return(undefined)));
  }
  const endedAt = Math.max(...last);
  return {
    rep,
    startedAt,
    prefillEndAt: startedAt + Math.max(...ttft),
    endedAt,
    promptTokens: promptTokens * sequences.length,
    decodeTokens: generated.reduce((a, b) => a + b, 0) - sequences.length,
    ttftMs: ttft,
    latencyMs: last.map((t) => t - startedAt),
    generated,
    profile: profileSince(before, cpuBefore),
  };
}

/** What the instrumented context did since `before` (only when PARATUNE_LLAMA_PROFILE=1). */
function profileSince(before: DecodeProfile | undefined, cpuBefore: ReturnType<typeof cpuSnapshot> | undefined): DecodeProfile | undefined {
  if (!profile || !before) return undefined;
  const cpuAfter = cpuBefore ? cpuSnapshot() : undefined;
  return {
    decodeCalls: profile.decodeCalls - before.decodeCalls,
    decodeMs: profile.decodeMs - before.decodeMs,
    sampleCalls: profile.sampleCalls - before.sampleCalls,
    sampleMs: profile.sampleMs - before.sampleMs,
    ...(cpuBefore && cpuAfter ? cpuBetween(cpuBefore, cpuAfter) : {}),
  };
}

main().catch((err: Error) => {
  send({ type: "error", stage: "run", message: err.message });
  process.exit(1);
});
