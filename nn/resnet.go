package nn

import "fmt"

// resnet20 is He et al.'s (2016) network for CIFAR: a 3x3 convolution of
// 16 filters, three stages of three basic blocks (two 3x3 convolutions,
// each batch normalized, the first followed by a ReLU, added to the
// block's input, then a ReLU) of 16, 32 and 64 filters, global average
// pooling and a softmax dense layer. The second and third stages' first
// blocks halve the image with a stride of 2, and their shortcuts project
// it with a 1x1 convolution at stride 2 and a batch normalization: the
// paper's option B, not the parameter-free option A behind its 0.27M
// parameters and 91.25%. The convolutions have no bias (a batch
// normalization follows each).
func resnet20(input [3]int, classes int) ModelSpec {
	noBias := new(bool)
	conv := func(name string, filters, size, stride int, input string) LayerSpec {
		l := LayerSpec{Type: "conv2d", Name: name, Filters: filters, KernelSize: Pair{size, size}, UseBias: noBias, Inputs: []string{input}}
		if stride > 1 {
			l.Strides = Pair{stride, stride}
		}
		return l
	}
	bn := func(name string) LayerSpec { return LayerSpec{Type: "batchnorm", Name: name} }
	layers := []LayerSpec{
		conv("stem", 16, 3, 1, InputName), bn("stem_bn"), {Type: "relu", Name: "stem_relu"},
	}
	in := "stem_relu"
	for stage, filters := range []int{16, 32, 64} {
		for block := range 3 {
			name := fmt.Sprintf("stage%d_block%d", stage+1, block+1)
			stride := 1
			if stage > 0 && block == 0 {
				stride = 2
			}
			layers = append(layers,
				conv(name+"_conv1", filters, 3, stride, in), bn(name+"_bn1"), LayerSpec{Type: "relu", Name: name + "_relu1"},
				conv(name+"_conv2", filters, 3, 1, name+"_relu1"), bn(name+"_bn2"))
			shortcut := in
			if stride > 1 {
				layers = append(layers, conv(name+"_shortcut", filters, 1, stride, in), bn(name+"_shortcut_bn"))
				shortcut = name + "_shortcut_bn"
			}
			layers = append(layers,
				LayerSpec{Type: "add", Name: name + "_add", Inputs: []string{name + "_bn2", shortcut}},
				LayerSpec{Type: "relu", Name: name + "_out"})
			in = name + "_out"
		}
	}
	layers = append(layers, LayerSpec{Type: "globalavgpool2d", Name: "pool"},
		LayerSpec{Type: "dense", Name: "classes", Units: classes, Activation: "softmax"})
	return ModelSpec{Format: GraphFormat, Name: "resnet20", Input: input, Layers: layers}
}
