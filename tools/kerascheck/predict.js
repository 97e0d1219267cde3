// Runs a Keras model (TensorFlow.js's own dialect, as write.js wrote it)
// with the weights of a vkcnn run of it, Keras' tensor names, on the first
// N images of an MNIST IDX file scaled to [0, 1], and prints the model's
// outputs (the softmax's probabilities) as a JSON list of lists: TensorFlow
// itself on the same weights, beside which vkcnn's windows are checked.
//
//   node tools/kerascheck/predict.js MODEL.json RUN/weights.safetensors IMAGES.idx[.gz] N
const fs = require("fs");
const zlib = require("zlib");
console.log = console.warn = () => {}; // TensorFlow.js's banner about its Node backend
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const layers = require("@tensorflow/tfjs-layers");

// safetensors reads a safetensors file's F32 tensors by name.
function safetensors(path) {
  const data = fs.readFileSync(path);
  const n = Number(data.readBigUInt64LE(0));
  const header = JSON.parse(data.subarray(8, 8 + n).toString("utf8"));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = t.data_offsets;
    const bytes = Uint8Array.prototype.slice.call(data, 8 + n + begin, 8 + n + end);
    out[name] = tf.tensor(new Float32Array(bytes.buffer), t.shape);
  }
  return out;
}

// images reads the first n images of an IDX file as [n, h, w, 1] in [0, 1].
function images(path, n) {
  let data = fs.readFileSync(path);
  if (data[0] === 0x1f && data[1] === 0x8b) data = zlib.gunzipSync(data);
  const h = data.readUInt32BE(8), w = data.readUInt32BE(12);
  const pixels = Float32Array.from(data.subarray(16, 16 + n * h * w), (v) => v / 255);
  return tf.tensor(pixels, [n, h, w, 1]);
}

async function main() {
  const [modelPath, weightsPath, imagesPath, n] = process.argv.slice(2);
  if (!n) throw new Error("predict.js MODEL.json WEIGHTS.safetensors IMAGES.idx N");
  await tf.setBackend("cpu");
  const model = await layers.models.modelFromJSON({ modelTopology: JSON.parse(fs.readFileSync(modelPath, "utf8")) });
  const tensors = safetensors(weightsPath);
  for (const l of model.layers) {
    // TensorFlow.js names a weight LAYER/NAME (and a suffix where names repeat).
    const values = l.weights.map((w) => {
      const name = `${l.name}.${w.originalName.split("/").pop()}`;
      if (!tensors[name]) throw new Error(`no ${name} in ${weightsPath}`);
      return tensors[name];
    });
    if (values.length) l.setWeights(values);
  }
  const out = model.predict(images(imagesPath, Number(n)));
  process.stdout.write(JSON.stringify(await out.array()) + "\n");
}

main().catch((e) => {
  process.stderr.write(`kerascheck: ${e.message}\n`);
  process.exit(1);
});
