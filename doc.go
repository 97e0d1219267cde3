// Package vkcnn trains and runs convolutional networks on any Vulkan 1.1
// device (NVIDIA, AMD and Intel GPUs, or Mesa's lavapipe on the CPU) with
// hand-written compute shaders: no Python, no CUDA, no cgo beyond the
// Vulkan loader. It is the library the vkcnn command is built on.
//
// A run folder, as `vkcnn train` writes it, holds a model, its weights and
// how it was trained. To classify images with one:
//
//	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{}) // the default device; Device: "1" or a name picks another
//	if err != nil { ... }
//	defer dev.Close()
//	run, err := vkcnn.LoadRun("runs/small-20260101-120000")
//	if err != nil { ... }
//	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{})
//	if err != nil { ... }
//	defer p.Close()
//	img, err := vkcnn.ReadImage("digit.png")
//	if err != nil { ... }
//	preds, err := p.Predict(img) // one Prediction an image: Class, Name, Probability, Probabilities
//
// Predict reads an image as `vkcnn predict` does (Run.Input): resized to
// the model's input, grayscale or RGB, normalized as training did.
// PredictPixels takes the model's input directly, HWC bytes, and
// PredictNHWC float32 values in [0, 1], channels last. A Predictor
// makes its buffers and commands once, classifies up to its batch of
// images in one device submission, and is safe for concurrent use: a
// server can gather concurrent requests into one call (see
// examples/serve).
//
// Run.ExportONNX writes the run as an ONNX model for other runtimes.
//
// Run folders come from Train, which the vkcnn train command is built on:
// a model (a preset, a model.json or a Keras file), a data set (anything
// --data reads) and settings as Go values with the command's defaults
// (DefaultTrainOptions):
//
//	opts := vkcnn.DefaultTrainOptions()
//	opts.Model, opts.Data, opts.Out, opts.Epochs = "small", "data/mnist", "runs/small", 2
//	opts.Log = os.Stdout // the lines vkcnn train prints
//	opts.OnEpoch = func(st nn.EpochStats) (stop bool) { return st.ValAcc > 0.99 }
//	run, err := vkcnn.Train(ctx, opts) // the trained run, ready for NewPredictor
//
// A run stopped by a callback or by ctx has its checkpoint written, and
// the error matches ErrStopped (the run, as its last epoch left it, comes
// with it); Resume continues it bit for bit.
//
// Errors carry the words the command prints. The classes a caller may act
// on are told apart with errors.Is: ErrDeviceLost and ErrHang (retry,
// perhaps elsewhere), ErrOutOfDeviceMemory and ErrOutOfHostMemory (a
// smaller batch may fit), ErrBadInput (the caller's run folder, image or
// values, or training settings).
//
// Below this package lie the pieces it joins, for callers that need
// more: nn (models, the network on a device, training), dataset (the data
// set readers), runfolder (every file of a run folder), onnx, and vk (the
// device).
package vkcnn
