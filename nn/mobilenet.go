package nn

import "fmt"

// mobilenet is MobileNet v1 (Howard et al. 2017) at width multiplier 0.5
// (Keras' MobileNet(alpha=0.5)), sized for 28x28 and 32x32 images: its
// first 3x3 convolution runs at stride 1, where v1's, for 224x224, runs at
// stride 2, so the four stride-2 blocks take 32x32 to 2x2 (28x28 to 2x2
// too, "same" padding rounding 7 up to 4). Then 13 depthwise-separable
// blocks, each a 3x3 depthwise convolution and a 1x1 convolution, each
// batch normalized and followed by ReLU6, of 32, 64, 64, 128, 128, 256,
// 256 x 5, 512 and 512 filters, global average pooling and a softmax dense
// layer. The convolutions have no bias (a batch normalization follows
// each); the layers have Keras' names (keras.applications.MobileNet's).
func mobilenet(input [3]int, classes int) ModelSpec {
	noBias := new(bool)
	normalized := func(name string, l LayerSpec) []LayerSpec {
		l.Name, l.UseBias = name, noBias
		return []LayerSpec{l, {Type: "batchnorm", Name: name + "_bn"}, {Type: "activation", Name: name + "_relu", Activation: "relu6"}}
	}
	layers := normalized("conv1", LayerSpec{Type: "conv2d", Filters: 16, KernelSize: Pair{3, 3}})
	for i, b := range []struct{ filters, stride int }{
		{32, 1}, {64, 2}, {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {256, 1}, {256, 1}, {256, 1}, {256, 1}, {512, 2}, {512, 1},
	} {
		dw := LayerSpec{Type: "depthwiseconv2d", KernelSize: Pair{3, 3}}
		if b.stride > 1 {
			dw.Strides = Pair{b.stride, b.stride}
		}
		layers = append(layers, normalized(fmt.Sprintf("conv_dw_%d", i+1), dw)...)
		layers = append(layers, normalized(fmt.Sprintf("conv_pw_%d", i+1), LayerSpec{Type: "conv2d", Filters: b.filters, KernelSize: Pair{1, 1}})...)
	}
	layers = append(layers, LayerSpec{Type: "globalavgpool2d", Name: "global_average_pooling2d"},
		LayerSpec{Type: "dense", Name: "predictions", Units: classes, Activation: "softmax"})
	return ModelSpec{Format: SpecFormat, Name: "mobilenet", Input: input, Layers: layers}
}
