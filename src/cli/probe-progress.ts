// probe() for the commands that wait on it (probe, predict): the bandwidth measurement is its one
// slow part, so a terminal gets a progress bar for it on stderr.

import cliProgress from "cli-progress";
import { probe, type ProbeOptions } from "../../probes/index.js";
import type { HardwareProfile } from "../types.js";

/** probe(), drawing the bandwidth measurement's progress when `show` (a terminal, no --json). */
export async function probeWithProgress(options: ProbeOptions, show: boolean, label = "bandwidth"): Promise<HardwareProfile> {
  let bar: cliProgress.SingleBar | undefined;
  const onBandwidthProgress = (done: number, total: number) => {
    if (!bar) {
      bar = new cliProgress.SingleBar(
        { format: `${label} [{bar}] {value}/{total} thread counts  ETA {eta_formatted}`, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    }
    bar.update(done);
  };
  try {
    return await probe({ ...options, onBandwidthProgress: show ? onBandwidthProgress : undefined });
  } finally {
    bar?.stop();
  }
}
