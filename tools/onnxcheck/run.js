// Runs an ONNX model in ONNX Runtime (CPU) on one input, for vkcnn's
// export tests: the input is raw little-endian float32 of the given
// dimensions; each output is written as raw float32 to OUTDIR/NAME.f32.
// Prints, as JSON, the model's input names and each output's dimensions.
//
//   node run.js MODEL.onnx INPUT.f32 DIM,DIM,... OUTDIR
"use strict";
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

async function main(args) {
  if (args.length !== 4) {
    throw new Error("usage: node run.js MODEL.onnx INPUT.f32 DIM,DIM,... OUTDIR");
  }
  const [model, input, dimList, outDir] = args;
  const dims = dimList.split(",").map(Number);
  const bytes = fs.readFileSync(input);
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const session = await ort.InferenceSession.create(model);
  if (session.inputNames.length !== 1) {
    throw new Error(`${model}: ${session.inputNames.length} inputs, want 1`);
  }
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", values, dims) });
  const outputs = {};
  for (const name of session.outputNames) {
    const t = results[name];
    fs.writeFileSync(path.join(outDir, name + ".f32"), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    outputs[name] = t.dims;
  }
  console.log(JSON.stringify({ inputs: session.inputNames, outputs: session.outputNames.map((name) => ({ name, dims: outputs[name] })) }));
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`onnxcheck: ${err.message}`);
  process.exit(1);
});
