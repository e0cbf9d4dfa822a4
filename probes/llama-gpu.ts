// Whether node-llama-cpp can use a GPU on this machine, and which backend it loads. nvidia-smi
// seeing a GPU is not enough: node-llama-cpp tests its GPU binary first and falls back to the CPU
// one, silently, when the test fails (an unsupported driver, a missing CUDA library).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface LlamaGpu {
  backend: string | null;
  devices: string[];
  reason?: string;
}

/** The child script: beside this file when compiled, else the compiled copy under dist/. */
function childScript(): string | null {
  for (const rel of ["./llama-gpu-child.js", "../../dist/probes/llama-gpu-child.js"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

/** Loads node-llama-cpp in a child process (a second or two; its binary test can take longer). */
export function probeLlamaGpu(timeoutMs = 120_000): Promise<LlamaGpu> {
  const script = childScript();
  if (!script) return Promise.resolve({ backend: null, devices: [], reason: "the probe's child script is not built (npm run build)" });
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      const line = String(stdout).trim().split("\n").pop() ?? "";
      try {
        const parsed = JSON.parse(line) as { backend: string | null; devices: string[] };
        const reason = parsed.backend === null ? lastLine(String(stderr)) || "node-llama-cpp loaded its CPU binary" : undefined;
        resolve({ backend: parsed.backend, devices: parsed.devices ?? [], ...(reason ? { reason } : {}) });
      } catch {
        const why = err && (err as { killed?: boolean }).killed ? `timed out after ${timeoutMs} ms` : lastLine(String(stderr)) || "no answer";
        resolve({ backend: null, devices: [], reason: `node-llama-cpp could not load: ${why}` });
      }
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).slice(-1)[0]?.slice(0, 300) ?? "";
}
