// Prints this machine's HardwareProfile (bandwidth measured, no cache) as JSON, for the models
// accuracy bench on a machine without npm: `node dist/bench/models-probe.js > hardware.json`.
import { probe } from "../probes/index.js";

const hardware = await probe({ bandwidth: true, cache: false });
process.stdout.write(`${JSON.stringify(hardware, null, 2)}\n`);
