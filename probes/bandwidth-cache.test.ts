import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Bandwidth } from "../src/types.js";
import { bandwidthCachePath, readCachedBandwidth, writeCachedBandwidth } from "./bandwidth-cache.js";
import { useTempPaths } from "../src/testing/temp-paths.js";

const bw: Bandwidth = { curve: [{ threads: 1, gbps: 20 }, { threads: 2, gbps: 30 }], singleGbps: 20, peakGbps: 30, method: "test curve" };

describe("bandwidth cache", () => {
  const paths = useTempPaths("paratune-cache", "shared");
  const dir = () => paths.root();

  it("keeps a curve per fingerprint under cacheDir('probe')", async () => {
    expect(bandwidthCachePath("abc")).toBe(join(dir(), "probe", "bandwidth-abc.json"));
    expect(await readCachedBandwidth("abc")).toBeNull();
    await writeCachedBandwidth("abc", bw, { busyShare: 0.25, busy: false }, "2026-11-01T00:00:00.000Z");
    const now = Date.parse("2026-11-02T00:00:00.000Z");
    expect(await readCachedBandwidth("abc", 30 * 86400e3, now)).toEqual({ bandwidth: bw, measuredAt: "2026-11-01T00:00:00.000Z", busyShare: 0.25, busy: false });
    expect(await readCachedBandwidth("other", 30 * 86400e3, now)).toBeNull();
  });
  it("drops a stale curve and an unreadable file", async () => {
    await writeCachedBandwidth("old", bw, { busyShare: 0, busy: false }, "2026-01-01T00:00:00.000Z");
    expect(await readCachedBandwidth("old", 30 * 86400e3, Date.parse("2026-11-25T00:00:00Z"))).toBeNull();
    writeFileSync(bandwidthCachePath("junk"), "{ not json");
    expect(await readCachedBandwidth("junk")).toBeNull();
  });
});
