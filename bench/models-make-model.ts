// Writes a synthetic GGUF of a preset shape (random weights, real tensor layout) for the models
// accuracy landscape on a machine without npm: `node dist/bench/models-make-model.js PRESET QUANT OUT`.
// Decode speed depends on the shape and quant, not on the weights' values.
import { fileType } from "../fixtures/gguf/file-type.js";
import { presetShape } from "../fixtures/gguf/shapes.js";
import { planModel, writeModel } from "../fixtures/gguf/synthetic-model.js";

const [preset = "tinyllama-1.1b", quant = "q4_0", out = "/tmp/model.gguf"] = process.argv.slice(2);
const shape = presetShape(preset);
const ft = fileType(quant);
if (!shape || !ft) {
  process.stderr.write(`models-make-model: unknown preset ${preset} or quant ${quant}\n`);
  process.exit(2);
}
const plan = planModel(shape, ft);
await writeModel(plan, out);
process.stdout.write(`${out} ${plan.fileBytes} bytes\n`);
