package nn

import (
	"errors"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func init() {
	register("separableconv2d", kind{class: "SeparableConv2D", prefix: "separable_conv2d",
		fields: []string{"filters", "kernel_size", "strides", "padding", "dilation_rate", "depth_multiplier", "use_bias", "activation", "alpha"}, build: buildSeparableConv2D,
		// tf.keras writes Conv2D's groups, 1, in its subclasses' configs.
		keras: map[string][]string{"groups": {"1"}}})
}

// separableConv2D is Keras' SeparableConv2D, one layer: a depthwise
// convolution without a bias or an activation (the direct kernels), then
// a 1x1 convolution, a GEMM over the pixels, with the bias (unless
// use_bias is false) and the activation, the ReLU fused. Its tensors are
// Keras': depthwise_kernel, pointwise_kernel, bias.
type separableConv2D struct {
	dw                         kernels.Depthwise // at batch 0
	filters                    int
	depthwise, pointwise, bias *Param
	relu                       bool
	act                        activation
}

func buildSeparableConv2D(b *builder) (recorder, error) {
	s := b.spec()
	if s.Filters <= 0 || s.Filters > maxDim {
		return nil, errors.New("needs filters, 1 to 65536")
	}
	dw, err := depthwiseGeometry(b, s.DepthMultiplier)
	if err != nil {
		return nil, err
	}
	c := &separableConv2D{dw: dw, filters: s.Filters}
	if c.relu, c.act, err = b.activation(false); err != nil {
		return nil, err
	}
	b.l.Out = Shape{dw.OH, dw.OW, s.Filters}
	c.depthwise = depthwiseKernel(b, dw)
	c.pointwise = b.glorot("pointwise_kernel", []int{1, 1, dw.Channels(), s.Filters}, dw.Channels(), s.Filters)
	if s.Biased() {
		c.bias = b.param("bias", []int{s.Filters}, Zeros, true)
	}
	return c, nil
}

func (c *separableConv2D) at(batch int) kernels.Depthwise {
	dw := c.dw
	dw.Batch = batch
	return dw
}

// gemms are the 1x1 convolution's products over the depthwise output
// (mid): forward mid*W, the kernel gradient mid^T*dY, and mid's gradient
// dY*W^T, which the depthwise gradients need in every layer.
func (c *separableConv2D) gemms(batch int) []kernels.Gemm {
	rows, mid := batch*c.dw.OH*c.dw.OW, c.dw.Channels()
	return []kernels.Gemm{
		{M: rows, N: c.filters, K: mid, Bias: c.bias != nil, ReLU: c.relu},
		{M: mid, N: c.filters, K: rows, TransA: true},
		{M: rows, N: mid, K: c.filters, TransB: true},
	}
}

var separablePasses = [...]string{"forward", "pointwise kernel gradient", "depthwise output gradient"}

func (c *separableConv2D) needs(batch int, _ bool, t kernels.Tuning) needs {
	rows := batch * c.dw.OH * c.dw.OW
	// The depthwise output, then its gradient in the same buffer.
	n := needs{own: append([]int{rows * c.dw.Channels()}, c.act.own(rows*c.filters)...)}
	if c.bias != nil {
		n.colSum = kernels.ColSumScratch(rows, c.filters)
	}
	for _, g := range c.gemms(batch) {
		n.split = max(n.split, t.Scratch(g))
	}
	return n
}

func (c *separableConv2D) products(batch int, _ bool) []product {
	var out []product
	for i, g := range c.gemms(batch) {
		out = append(out, product{separablePasses[i], g})
	}
	return out
}

func (c *separableConv2D) biasRange(p *pass) vk.Range {
	if c.bias == nil {
		return vk.Range{}
	}
	return p.param(c.bias)
}

func (c *separableConv2D) forward(p *pass) error {
	mid := whole(p.own[0])
	g := p.gemm(separablePasses[0], c.gemms(p.batch())[0])
	err := errors.Join(c.at(p.batch()).Forward(p.ctx(), p.rec, p.in, p.param(c.depthwise), vk.Range{}, mid),
		g.Record(p.ctx(), p.rec, kernels.GemmArgs{A: mid, B: p.param(c.pointwise), C: c.act.productOut(p), Bias: c.biasRange(p), Scratch: p.splitScratch()}))
	if err != nil {
		return err
	}
	return c.act.forward(p)
}

func (c *separableConv2D) backward(p *pass) error {
	var err error
	if c.relu {
		err = p.reluBackward()
	}
	mid, gemms, dw := whole(p.own[0]), c.gemms(p.batch()), c.at(p.batch())
	dW, dMid := p.gemm(separablePasses[1], gemms[1]), p.gemm(separablePasses[2], gemms[2])
	err = errors.Join(err, c.act.backward(p),
		dW.Record(p.ctx(), p.rec, kernels.GemmArgs{A: mid, B: p.dOut, C: p.grad(c.pointwise), Scratch: p.splitScratch()}))
	if c.bias != nil {
		err = errors.Join(err, p.colSum(c.bias))
	}
	err = errors.Join(err, dMid.Record(p.ctx(), p.rec, kernels.GemmArgs{A: p.dOut, B: p.param(c.pointwise), C: mid, Scratch: p.splitScratch()}),
		dw.BackwardFilter(p.ctx(), p.rec, p.in, mid, p.grad(c.depthwise)))
	if err != nil {
		return err
	}
	if err := p.mark("backward-filter"); err != nil || !p.inputGradient() {
		return err
	}
	if err := dw.BackwardData(p.ctx(), p.rec, mid, p.param(c.depthwise), p.dIn); err != nil {
		return err
	}
	return p.mark("backward-data")
}

func (c *separableConv2D) convWindows() Windows { return windowsOf(c.dw.Window) }
