// Test support (not part of the build): a hardware profile of the 16-core host with one H200, as
// `paratune probe --json` saved it there (fixtures/hardware/h200-16core/profile.json).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { HardwareProfile } from "../types.js";

export async function H200_PROFILE(): Promise<HardwareProfile> {
  const path = fileURLToPath(new URL("../../fixtures/hardware/h200-16core/profile.json", import.meta.url));
  const data = JSON.parse(readFileSync(path, "utf8"));
  return (data.hardware ?? data) as HardwareProfile;
}
