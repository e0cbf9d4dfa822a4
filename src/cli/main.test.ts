import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/paratune.js", import.meta.url));

describe("paratune CLI", () => {
  it("prints its version from package.json", async () => {
    const r = await execa("node", [bin, "--version"]);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("answers an unknown option, command or choice like any user mistake: 'paratune: ...', exit code 2, no stack", async () => {
    for (const args of [["--no-such-flag"], ["no-such-command"], ["tune", "--tuner", "zzz"]]) {
      const r = await execa("node", [bin, ...args], { reject: false });
      expect(r.exitCode, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^paratune: (unknown option|unknown command|option '--tuner <name>' argument 'zzz' is invalid)/);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    const help = await execa("node", [bin, "--help"], { reject: false });
    expect(help.exitCode).toBe(0);
    const r = await execa("node", [bin, "--no-such-flag"], { reject: false });
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
