import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/paratune.js", import.meta.url));

describe("paratune CLI", () => {
  it("prints its version from package.json", async () => {
    const r = await execa("node", [bin, "--version"]);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("answers an unknown option with one line and exit code 1, no stack", async () => {
    const r = await execa("node", [bin, "--no-such-flag"], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/unknown option/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
