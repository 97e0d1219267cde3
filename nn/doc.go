// Package nn holds models as data, their layers' shapes and parameters,
// the device network that trains them, and the training loop. Layers
// record kernels (nn/kernels); nothing here calls Vulkan directly.
//
// # Layers
//
// Each layer type of model.json is a kind with a file of its own
// (conv2d.go, dense.go, batchnorm.go, ...), registered under its type name
// from the file's init. The kind's build checks the layer's spec against
// its input shape, sets its output shape and adds its parameters, Keras'
// names and initialisers with them, trainable or not (batch
// normalization's moving statistics); what it returns records the layer
// on a network (the recorder interface in layer.go): what it needs there
// (buffers of its own, shared scratch, whether it works in place), its
// forward and backward passes, and the GEMM-shaped products they record,
// which `vkcnn tune` and `vkcnn bench` measure. Build, the network's
// buffers, a step's recording, Products and the summary loop over layers
// and ask them.
//
// # Graphs
//
// A layer reads the tensors its spec names (LayerSpec.Inputs: earlier
// layers or the model's input, by default the layer before). Forward
// keeps every tensor for backward; backward runs the layers last to first
// and sums the gradient of a tensor that several layers read in that
// order, each layer's part added as it is computed (plan.go's routes), so
// that steps stay bit-reproducible. Gradients share buffers where their
// lifetimes in backward do not overlap.
//
// # Adding a layer
//
//   - its kind file in nn: register the type with its Keras class and
//     default-name prefix, the model.json fields it takes (named as
//     Keras' config names them) and the values of the Keras config
//     entries it implements without a field (kind.keras), which the
//     Keras reader (package keras) checks; build and the recorder's
//     methods (a field model.json does not have yet goes in LayerSpec and
//     its fieldsSet, in spec.go);
//   - its shaders in shaders/ (./build.sh shaders compiles them) and their
//     wrapper in nn/kernels, which declares each pipeline's bindings, push
//     constants and specialization once;
//   - its plain-Go reference in nn/ref: float64, with the float32
//     rounding of its sums and operations drawn by a ref.Rounding, and the
//     float32 reference the kernel tests use as that, rounded;
//   - its float64 layer reference in the references map of
//     gradcheck_test.go (forward, and backward setting its parameters'
//     gradients), which the whole-network gradient check runs: that
//     reference against finite differences of its loss, and the device's
//     every gradient, logit and loss against it, within what float32
//     rounding may move them (TestEveryKindHasAReference fails until it
//     is there);
//   - tests: the kernels against the reference on odd shapes (nn/kernels),
//     the layer in tinySpec, or where it joins or strides in graphSpec or
//     stridedSpec (net_test.go), which the gradient check, the
//     recorded-products check and the bit-identical resume and staging
//     tests run;
//   - where it has a PyTorch equivalent, bench/torch_model.py;
//   - its ONNX nodes in onnx/export.go (onnx's tests fail until every
//     type of LayerTypes exports).
//
// Nothing else in Go but the ONNX export switches on layer types.
package nn
