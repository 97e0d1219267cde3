// Writes keras/testdata/tfjs_sequential.json: a Sequential model as
// TensorFlow.js layers serializes it (Keras 2.2.3's dialect: the config
// has a name and the layers), with every layer class vkcnn reads, a
// frozen layer, initializers other than Keras' defaults, and a linear
// Dense layer followed by Activation('softmax').
//
//   node tools/kerascheck/write.js > keras/testdata/tfjs_sequential.json
console.log = console.warn = () => {}; // TensorFlow.js's banner about its Node backend
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const layers = require("@tensorflow/tfjs-layers");
const L = layers.layers;

async function main() {
  await tf.setBackend("cpu");
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
  process.stdout.write(JSON.stringify(m.toJSON(null, false)) + "\n");
}

main().catch((e) => {
  process.stderr.write(`kerascheck: ${e.message}\n`);
  process.exit(1);
});
