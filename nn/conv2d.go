package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("conv2d", kind{class: "Conv2D", prefix: "conv2d", fields: []string{"filters", "kernel_size", "activation", "alpha"}, build: buildConv2D})
}

// conv2d is a convolution with "same" padding, stride 1 and an odd square
// kernel, with a bias and, optionally, a fused ReLU or another activation.
type conv2d struct {
	in, out      Shape
	size         int // kernel side
	kernel, bias *Param
	relu         bool
	act          activation
}

func buildConv2D(b *builder) (recorder, error) {
	s, in := b.spec(), b.in()
	if s.Filters <= 0 || s.KernelSize <= 0 || s.KernelSize%2 == 0 {
		return nil, fmt.Errorf("needs filters > 0 and an odd kernel_size (got %d, %d)", s.Filters, s.KernelSize)
	}
	if s.Filters > maxDim || s.KernelSize > maxKernel {
		return nil, fmt.Errorf("filters (at most %d) or kernel_size (at most %d) too large", maxDim, maxKernel)
	}
	if b.flat {
		return nil, errors.New("a convolution after flatten or dense: its input is a vector")
	}
	relu, act, err := b.activation(false)
	if err != nil {
		return nil, err
	}
	k := s.KernelSize
	c := &conv2d{in: in, out: Shape{in.H, in.W, s.Filters}, size: k, relu: relu, act: act}
	b.l.Out = c.out
	c.kernel = b.glorot("kernel", []int{k, k, in.C, s.Filters}, k*k*in.C, k*k*s.Filters)
	c.bias = b.param("bias", []int{s.Filters}, Zeros, true)
	return c, nil
}

// conv is the layer's convolution at a batch size, its variant not yet
// chosen.
func (c *conv2d) conv(batch int) kernels.Conv {
	return kernels.Conv{Batch: batch, H: c.in.H, W: c.in.W, Cin: c.in.C, Cout: c.out.C, KH: c.size, KW: c.size, Bias: true, ReLU: c.relu}
}

func (c *conv2d) needs(batch int, first bool, t kernels.Tuning) needs {
	n := needs{colSum: kernels.ColSumScratch(batch*c.out.H*c.out.W, c.out.C),
		split: t.Scratch(kernels.ConvProduct{Conv: c.conv(batch), Pass: kernels.ConvBackwardFilter})}
	if !first {
		n.own = []int{c.kernel.Size()} // the kernel transposed, for the input gradient
	}
	n.own = append(n.own, c.act.own(batch*c.out.Size())...)
	return n
}

func (c *conv2d) products(batch int, first bool) []product {
	conv := c.conv(batch)
	out := []product{
		{"forward", kernels.ConvProduct{Conv: conv, Pass: kernels.ConvForward}},
		{"backward-filter", kernels.ConvProduct{Conv: conv, Pass: kernels.ConvBackwardFilter}},
	}
	if !first {
		out = append(out, product{"backward-data", kernels.ConvProduct{Conv: conv, Pass: kernels.ConvBackwardData}})
	}
	return out
}

func (c *conv2d) forward(p *pass) error {
	conv := p.conv("forward", c.conv(p.batch()), kernels.ConvForward)
	if err := conv.Forward(p.ctx(), p.rec, p.in, p.param(c.kernel), c.act.productOut(p), p.param(c.bias)); err != nil {
		return err
	}
	return c.act.forward(p)
}

func (c *conv2d) backward(p *pass) error {
	var err error
	if c.relu {
		err = p.reluBackward()
	}
	err = errors.Join(err, c.act.backward(p))
	filter := p.conv("backward-filter", c.conv(p.batch()), kernels.ConvBackwardFilter)
	err = errors.Join(err,
		filter.BackwardFilter(p.ctx(), p.rec, p.in, p.dOut, p.grad(c.kernel), p.splitScratch()),
		p.colSum(c.bias))
	if err != nil {
		return err
	}
	if err := p.mark("backward-filter"); err != nil || !p.inputGradient() {
		return err
	}
	data := p.conv("backward-data", c.conv(p.batch()), kernels.ConvBackwardData)
	kernelT := whole(p.own[0])
	err = errors.Join(
		kernels.TransposeKernel(p.ctx(), p.rec, p.param(c.kernel), kernelT, c.size*c.size, c.in.C, c.out.C),
		data.BackwardData(p.ctx(), p.rec, p.dOut, kernelT, p.dIn))
	if err != nil {
		return err
	}
	return p.mark("backward-data")
}
