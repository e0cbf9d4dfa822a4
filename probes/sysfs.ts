// Reading the kernel's text files (/proc, /sys) under a root folder. Probes take a root so that
// tests can point them at a fixture tree laid out like the real one; in production it is "/".
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface KernelFiles {
  /** The file's text, or null when it does not exist or cannot be read. */
  read(path: string): string | null;
  /** Entry names in a folder, or [] when it does not exist. */
  list(path: string): string[];
}

export function kernelFiles(root = "/"): KernelFiles {
  return {
    read(path) {
      try {
        return readFileSync(join(root, path), "utf8");
      } catch {
        return null;
      }
    },
    list(path) {
      try {
        return readdirSync(join(root, path));
      } catch {
        return [];
      }
    },
  };
}
