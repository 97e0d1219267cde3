// Writes the test files TensorFlow.js layers serializes, in Keras 2.2.3's
// dialect: tfjs_sequential.json, a Sequential model (the config has a
// name and the layers) with the classes of a chain vkcnn reads, a frozen
// layer, initializers other than Keras' defaults, and a linear Dense
// layer followed by Activation('softmax'); tfjs_functional.json, a graph
// (Keras 2's Model, each layer's inbound nodes a list of
// [layer, node, tensor, kwargs]) with a residual addition, a
// concatenation, a strided "valid" convolution without bias and global
// average pooling; tfjs_activations.json, a Sequential model of the
// activations vkcnn reads, in Activation layers, the ReLU (capped at 6),
// LeakyReLU and ELU layers, and Conv2D's and Dense's activation.
//
//   node tools/kerascheck/write.js sequential > keras/testdata/tfjs_sequential.json
//   node tools/kerascheck/write.js functional > keras/testdata/tfjs_functional.json
//   node tools/kerascheck/write.js activations > keras/testdata/tfjs_activations.json
//   node tools/kerascheck/write.js depthwise > keras/testdata/tfjs_depthwise.json
//   node tools/kerascheck/write.js windows > keras/testdata/tfjs_windows.json
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

function activations() {
  const m = layers.sequential({ name: "tfjs_activations" });
  m.add(L.inputLayer({ inputShape: [28, 28, 1], name: "image" }));
  m.add(L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "hardSigmoid", name: "conv_hard_sigmoid" }));
  m.add(L.activation({ activation: "elu", name: "elu" }));
  m.add(L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "swish", name: "conv_swish" }));
  m.add(L.leakyReLU({ name: "leaky_default" }));
  m.add(L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "gelu", name: "conv_gelu" }));
  m.add(L.leakyReLU({ alpha: 0.1, name: "leaky" }));
  m.add(L.reLU({ maxValue: 6, name: "relu6" }));
  m.add(L.elu({ name: "elu_layer" }));
  m.add(L.activation({ activation: "selu", name: "selu" }));
  m.add(L.activation({ activation: "tanh", name: "tanh" }));
  m.add(L.activation({ activation: "softsign", name: "softsign" }));
  m.add(L.activation({ activation: "hardSigmoid", name: "hard_sigmoid" }));
  m.add(L.globalAveragePooling2d({ name: "pooled" }));
  m.add(L.dense({ units: 8, activation: "softplus", name: "hidden" }));
  m.add(L.activation({ activation: "sigmoid", name: "sigmoid" }));
  m.add(L.dense({ units: 10, activation: "relu6", name: "hidden_relu6" }));
  m.add(L.dense({ units: 10, activation: "softmax", name: "logits" }));
  return m;
}

// depthwise: tfjs_depthwise.json, a Sequential model of MobileNet's
// pieces: DepthwiseConv2D (a depth multiplier of 2, stride 2) and
// SeparableConv2D (with and without a bias; TensorFlow.js writes no
// depth_multiplier for it), the depthwise initializer not Keras' default.
function depthwise() {
  const m = layers.sequential({ name: "tfjs_depthwise" });
  m.add(L.inputLayer({ inputShape: [32, 32, 3], name: "image" }));
  m.add(L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu", name: "stem" }));
  m.add(L.depthwiseConv2d({ kernelSize: 3, strides: 2, depthMultiplier: 2, padding: "same", activation: "relu", depthwiseInitializer: "heNormal", name: "dw" }));
  m.add(L.batchNormalization({ name: "dw_bn" }));
  m.add(L.separableConv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu", name: "sep" }));
  m.add(L.separableConv2d({ filters: 24, kernelSize: 5, strides: 2, padding: "valid", useBias: false, name: "sep_valid" }));
  m.add(L.globalAveragePooling2d({ name: "pooled" }));
  m.add(L.dense({ units: 10, activation: "softmax", name: "logits" }));
  return m;
}

// windows: tfjs_windows.json, a Sequential model of Conv2D's other
// windows: an even kernel, a non-square one, dilated ones ("same" and
// "valid"), a non-square DepthwiseConv2D and a dilated non-square
// SeparableConv2D. (TensorFlow.js's Conv2D has no groups, and its
// DepthwiseConv2D layer drops its dilation_rate, calling the depthwise
// convolution with none: tfjs-layers 4.22.0's
// layers/convolutional_depthwise.js. Its SeparableConv2D keeps it, and
// runs the same depthwise kernels in vkcnn.)
function windows() {
  const m = layers.sequential({ name: "tfjs_windows" });
  m.add(L.inputLayer({ inputShape: [28, 28, 1], name: "image" }));
  m.add(L.conv2d({ filters: 8, kernelSize: 4, padding: "same", activation: "relu", name: "even" }));
  m.add(L.conv2d({ filters: 8, kernelSize: [3, 1], strides: [2, 1], padding: "same", name: "tall" }));
  m.add(L.conv2d({ filters: 12, kernelSize: 3, dilationRate: 2, padding: "same", activation: "relu", name: "dilated" }));
  m.add(L.conv2d({ filters: 12, kernelSize: [2, 3], dilationRate: [2, 1], padding: "valid", useBias: false, name: "dilated_valid" }));
  m.add(L.depthwiseConv2d({ kernelSize: [3, 2], depthMultiplier: 2, padding: "same", activation: "relu", name: "dw" }));
  m.add(L.separableConv2d({ filters: 16, kernelSize: [2, 3], dilationRate: 2, padding: "same", activation: "relu", name: "sep" }));
  m.add(L.globalAveragePooling2d({ name: "pooled" }));
  m.add(L.dense({ units: 10, activation: "softmax", name: "logits" }));
  return m;
}

async function main() {
  await tf.setBackend("cpu");
  const build = { sequential, functional, activations, depthwise, windows }[process.argv[2]];
  if (!build) throw new Error("write.js sequential|functional|activations|depthwise|windows");
  process.stdout.write(JSON.stringify(build().toJSON(null, false)) + "\n");
}

main().catch((e) => {
  process.stderr.write(`kerascheck: ${e.message}\n`);
  process.exit(1);
});
