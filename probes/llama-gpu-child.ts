// Run as a child process by probes/llama-gpu.ts: loads node-llama-cpp with whatever GPU backend it
// can use here and prints what it got as one JSON line. A separate process, because loading a
// backend cannot be undone, and a broken GPU stack can hang or crash the process that tries.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const llama = await getLlama({ gpu: "auto", build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
const vram = llama.gpu === false ? null : await llama.getVramState();
process.stdout.write(`${JSON.stringify({ backend: llama.gpu === false ? null : llama.gpu, devices, vramFreeBytes: vram?.free ?? null })}\n`);
process.exit(0);
