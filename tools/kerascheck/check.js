// Builds a Keras model from its JSON with TensorFlow.js layers and prints
// each layer's name, class and parameter count, and the model's trainable
// and non-trainable counts, as JSON: what vkcnn's Keras reader is checked
// against. Keras 3's objects are first written as Keras 2 writes them
// (module and registered_name dropped, batch_shape as
// batch_input_shape, a dtype policy as its name, a variance-scaling
// distribution as "normal" or "uniform": no count depends on it; a
// Functional model as a Model, a call's __keras_tensor__ arguments as
// Keras 2's inbound [layer, node, tensor, kwargs], one input or output
// [layer, node, tensor] in a list), which TensorFlow.js reads.
//
//   node tools/kerascheck/check.js MODEL.json
const fs = require("fs");
console.log = console.warn = () => {}; // TensorFlow.js's banner about its Node backend
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const layers = require("@tensorflow/tfjs-layers");

// histories lists the keras_history of every __keras_tensor__ in a call.
function histories(v, out) {
  if (Array.isArray(v)) v.forEach((x) => histories(x, out));
  else if (v && typeof v === "object") {
    if (v.class_name === "__keras_tensor__") out.push([...v.config.keras_history, {}]);
    else Object.values(v).forEach((x) => histories(x, out));
  }
  return out;
}

function asKeras2(v) {
  if (Array.isArray(v)) return v.map(asKeras2);
  if (v === null || typeof v !== "object") return v;
  if (v.class_name === "DTypePolicy" || v.class_name === "FloatDTypePolicy") return v.config.name;
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "class_name" && x === "Functional") {
      out[k] = "Model";
      continue;
    }
    if (k === "inbound_nodes") {
      out[k] = x.map((node) => (Array.isArray(node) ? node : histories(node.args, [])));
      continue;
    }
    if ((k === "input_layers" || k === "output_layers") && typeof x[0] === "string") {
      out[k] = [x];
      continue;
    }
    if (k === "module" || k === "registered_name" || k === "build_config" || k === "compile_config") continue;
    if (k === "distribution") {
      out[k] = x === "uniform" ? x : "normal";
      continue;
    }
    out[k === "batch_shape" ? "batch_input_shape" : k] = asKeras2(x);
  }
  return out;
}

async function main() {
  await tf.setBackend("cpu");
  let json = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  if (typeof json === "string") json = JSON.parse(json);
  const model = await layers.models.modelFromJSON({ modelTopology: asKeras2(json) });
  const count = (ws) => ws.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  const out = {
    layers: model.layers.map((l) => ({ name: l.name, class: l.getClassName(), params: l.countParams() })),
    trainable: count(model.trainableWeights),
    non_trainable: count(model.nonTrainableWeights),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`kerascheck: ${e.message}\n`);
  process.exit(1);
});
