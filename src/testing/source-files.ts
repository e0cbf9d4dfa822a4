// Test support (not part of the build): the project's own source modules under a folder, as paths
// from the repository root, for the checks that read the code itself (layers, function length).
// Tests, test support and data are left out: they are not the code those checks are about.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export function sources(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== "testing" && entry.name !== "test-programs" && entry.name !== "data") out.push(...sources(root, path));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")) {
      out.push(path);
    }
  }
  return out;
}
