// Writes the test files TensorFlow.js layers serializes, in Keras 2.2.3's
// dialect: tfjs_sequential.json, a Sequential model (the config has a
// name and the layers) with the classes of a chain vkcnn reads, a frozen
// layer, initializers other than Keras' defaults, and a linear Dense
// layer followed by Activation('softmax'); tfjs_functional.json, a graph
// (Keras 2's Model, each layer's inbound nodes a list of
// [layer, node, tensor, kwargs]) with a residual addition, a
// concatenation, a strided "valid" convolution without bias and global
// average pooling.
//
//   node tools/kerascheck/write.js sequential > keras/testdata/tfjs_sequential.json
//   node tools/kerascheck/write.js functional > keras/testdata/tfjs_functional.json
console.log = console.warn = () => {}; // TensorFlow.js's banner about its Node backend
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const layers = require("@tensorflow/tfjs-layers");
const L = layers.layers;

function sequential() {
  const m = layers.sequential({ name: "tfjs_cnn" });
  m.add(L.inputLayer({ inputShape: [28, 28, 1], name: "image" }));
  m.add(L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: "heNormal", name: "conv_a", trainable: false }));
  m.add(L.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: "bn_a" }));
  m.add(L.maxPooling2d({ poolSize: 2, name: "pool_a" }));
  m.add(L.conv2d({ filters: 16, kernelSize: 5, padding: "same", kernelInitializer: "leCunUniform", biasInitializer: layers.initializers.constant({ value: 0.1 }), name: "conv_b" }));
  m.add(L.reLU({ name: "relu_b" }));
  m.add(L.averagePooling2d({ poolSize: 2, name: "pool_b" }));
  m.add(L.flatten({ name: "flatten" }));
  m.add(L.dense({ units: 32, kernelInitializer: layers.initializers.truncatedNormal({ stddev: 0.02 }), name: "hidden" }));
  m.add(L.activation({ activation: "relu", name: "hidden_relu" }));
  m.add(L.dropout({ rate: 0.25, name: "drop" }));
  m.add(L.dense({ units: 10, kernelInitializer: layers.initializers.randomUniform({ minval: -0.1, maxval: 0.1 }), name: "logits" }));
  m.add(L.activation({ activation: "softmax", name: "probabilities" }));
  return m;
}

function functional() {
  const input = L.input({ shape: [28, 28, 1], name: "image" });
  const stem = L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu", name: "stem" }).apply(input);
  const branch = L.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false, name: "branch" }).apply(stem);
  const normed = L.batchNormalization({ name: "branch_bn" }).apply(branch);
  const sum = L.add({ name: "residual" }).apply([stem, normed]);
  const relu = L.reLU({ name: "residual_relu" }).apply(sum);
  const down = L.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: "valid", useBias: false, name: "down" }).apply(relu);
  const side = L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "valid", name: "side" }).apply(relu);
  const joined = L.concatenate({ name: "joined" }).apply([down, side]);
  const pooled = L.globalAveragePooling2d({ name: "pooled" }).apply(joined);
  const logits = L.dense({ units: 10, name: "logits" }).apply(pooled);
  const probabilities = L.activation({ activation: "softmax", name: "probabilities" }).apply(logits);
  return layers.model({ inputs: input, outputs: probabilities, name: "tfjs_graph" });
}

async function main() {
  await tf.setBackend("cpu");
  const build = { sequential, functional }[process.argv[2]];
  if (!build) throw new Error("write.js sequential|functional");
  process.stdout.write(JSON.stringify(build().toJSON(null, false)) + "\n");
}

main().catch((e) => {
  process.stderr.write(`kerascheck: ${e.message}\n`);
  process.exit(1);
});
