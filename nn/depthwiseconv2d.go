package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func init() {
	register("depthwiseconv2d", kind{class: "DepthwiseConv2D", prefix: "depthwise_conv2d",
		fields: []string{"kernel_size", "strides", "padding", "dilation_rate", "depth_multiplier", "use_bias", "activation", "alpha"}, build: buildDepthwiseConv2D,
		// tf.keras writes Conv2D's groups, 1, in its subclasses' configs.
		keras: map[string][]string{"groups": {"1"}}})
}

// depthwiseConv2D convolves each input channel with depth_multiplier
// kernels of its own (Keras' DepthwiseConv2D), with a kernel of any
// sides, strides or dilation, a bias (unless use_bias is false) and an activation, the ReLU fused.
// It runs the direct depthwise kernels: each output sums only k x k
// products, too few for a GEMM's tiles.
type depthwiseConv2D struct {
	dw           kernels.Depthwise // at batch 0
	kernel, bias *Param
	act          activation
}

func buildDepthwiseConv2D(b *builder) (recorder, error) {
	s := b.spec()
	dw, err := depthwiseGeometry(b, s.DepthMultiplier)
	if err != nil {
		return nil, err
	}
	var act activation
	if dw.ReLU, act, err = b.activation(false); err != nil {
		return nil, err
	}
	dw.Bias = s.Biased()
	d := &depthwiseConv2D{dw: dw, act: act}
	b.l.Out = Shape{dw.OH, dw.OW, dw.Channels()}
	d.kernel = depthwiseKernel(b, dw)
	if dw.Bias {
		d.bias = b.param("bias", []int{dw.Channels()}, Zeros, true)
	}
	return d, nil
}

// depthwiseGeometry checks a depthwise convolution's depth_multiplier
// (0: 1) against its input, and lays out its windows.
func depthwiseGeometry(b *builder, m int) (kernels.Depthwise, error) {
	s, in := b.spec(), b.in()
	if m == 0 {
		m = 1
	}
	var dw kernels.Depthwise
	switch {
	case m < 0 || m*in.C > maxDim:
		return dw, fmt.Errorf("depth_multiplier %d: at least 1, and at most %d output channels", m, maxDim)
	case b.flat:
		return dw, errors.New("a convolution after flatten or dense: its input is a vector")
	}
	g, err := convWindow(in, s)
	return kernels.Depthwise{Window: g, M: m}, err
}

// depthwiseKernel adds the depthwise_kernel [k, k, C, M], initialized
// Glorot-uniform with Keras' fans (it takes C as the fan in, M out).
func depthwiseKernel(b *builder, dw kernels.Depthwise) *Param {
	p := b.param("depthwise_kernel", []int{dw.KH, dw.KW, dw.C, dw.M}, GlorotUniform, true)
	p.FanIn, p.FanOut = dw.KH*dw.KW*dw.C, dw.KH*dw.KW*dw.M
	return p
}

// at is the convolution at a batch size.
func (d *depthwiseConv2D) at(batch int) kernels.Depthwise {
	dw := d.dw
	dw.Batch = batch
	return dw
}

func (d *depthwiseConv2D) needs(batch int, _ bool, _ kernels.Tuning) needs {
	n := needs{own: d.act.own(batch * d.dw.OH * d.dw.OW * d.dw.Channels())}
	if d.bias != nil {
		n.colSum = kernels.ColSumScratch(batch*d.dw.OH*d.dw.OW, d.dw.Channels())
	}
	return n
}

func (*depthwiseConv2D) products(int, bool) []product { return nil }

func (d *depthwiseConv2D) forward(p *pass) error {
	var bias vk.Range
	if d.bias != nil {
		bias = p.param(d.bias)
	}
	if err := d.at(p.batch()).Forward(p.ctx(), p.rec, p.in, p.param(d.kernel), bias, d.act.productOut(p)); err != nil {
		return err
	}
	return d.act.forward(p)
}

func (d *depthwiseConv2D) backward(p *pass) error {
	var err error
	if d.dw.ReLU {
		err = p.reluBackward()
	}
	dw := d.at(p.batch())
	err = errors.Join(err, d.act.backward(p), dw.BackwardFilter(p.ctx(), p.rec, p.in, p.dOut, p.grad(d.kernel)))
	if d.bias != nil {
		err = errors.Join(err, p.colSum(d.bias))
	}
	if err != nil {
		return err
	}
	if err := p.mark("backward-filter"); err != nil || !p.inputGradient() {
		return err
	}
	if err := dw.BackwardData(p.ctx(), p.rec, p.dOut, p.param(d.kernel), p.dIn); err != nil {
		return err
	}
	return p.mark("backward-data")
}

func (d *depthwiseConv2D) convWindows() Windows { return windowsOf(d.dw.Window) }
