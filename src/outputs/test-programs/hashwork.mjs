#!/usr/bin/env node
// A real parallel batch job for tests and the user guide: hashes a fixed amount of data with
// PARALLEL_WORKERS processes x INFERENCE_NUM_THREADS threads each, in PARALLEL_SEQUENCES
// interleaved streams per thread, and prints its throughput. Its speed really depends on the
// three settings (process start-up, thread start-up, cores, per-call overhead), which is what
// a tuner has to find out.
//   node hashwork.mjs [fidelity]      settings from the environment (defaults 1 / 1 / 1)
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { fileURLToPath } from "node:url";

const CHUNK = 64 * 1024;

function hashBytes(bytes, streams) {
  const buf = Buffer.alloc(Math.floor(CHUNK / streams), 7);
  const hashes = Array.from({ length: streams }, () => createHash("sha256"));
  let done = 0;
  while (done < bytes) for (const h of hashes) { h.update(buf); done += buf.length; }
  for (const h of hashes) h.digest();
  return done;
}

async function runThreads(bytes, threads, streams) {
  const share = Math.ceil(bytes / threads);
  const jobs = Array.from({ length: threads }, () => new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { bytes: share, streams } });
    w.once("message", resolve);
    w.once("error", reject);
  }));
  return (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
}

if (!isMainThread) {
  parentPort.postMessage(hashBytes(workerData.bytes, workerData.streams));
} else if (process.argv[2] === "--child") {
  const [bytes, threads, streams] = process.argv.slice(3).map(Number);
  process.send(await runThreads(bytes, threads, streams));
} else {
  const workers = Number(process.env.PARALLEL_WORKERS ?? 1);
  const threads = Number(process.env.INFERENCE_NUM_THREADS ?? 1);
  const streams = Number(process.env.PARALLEL_SEQUENCES ?? 1);
  const fidelity = Number(process.argv[2] ?? 1);
  if (streams > 8) {
    console.error(`error: ${streams} streams leave chunks under 8 KiB; use at most 8`);
    process.exit(3);
  }
  const total = Math.round(192 * 1024 * 1024 * fidelity);
  const t0 = performance.now();
  const share = Math.ceil(total / workers);
  const parts = await Promise.all(Array.from({ length: workers }, () => new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--child", String(share), String(threads), String(streams)]);
    child.once("message", (n) => { resolve(n); child.disconnect(); });
    child.once("error", reject);
  })));
  const seconds = (performance.now() - t0) / 1000;
  const mb = parts.reduce((a, b) => a + b, 0) / (1024 * 1024);
  console.log(`throughput: ${(mb / seconds).toFixed(2)} MB/s`);
}
