package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func init() {
	register("conv2d", kind{class: "Conv2D", prefix: "conv2d", fields: []string{"filters", "kernel_size", "strides", "padding", "use_bias", "activation", "alpha"}, build: buildConv2D,
		keras: map[string][]string{"dilation_rate": {"[1,1]"}, "groups": {"1"}}})
}

// conv2d is a convolution with an odd square kernel, a bias (unless
// use_bias is false) and, optionally, a fused ReLU or another activation.
// At stride 1 with "same" padding it runs the implicit-GEMM convolution
// kernels; strided or "valid", it lays its windows out as a matrix
// (im2col) for the GEMM kernels, and sums their gradients back (col2im),
// which skips the taps a strided transpose would multiply by zero.
type conv2d struct {
	in, out      Shape
	size         int    // kernel side
	kernel, bias *Param // bias nil without one
	relu         bool
	// windows, where set, are the strided or "valid" convolution's.
	windows *kernels.Window
	act     activation
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
	c := &conv2d{in: in, size: k, relu: relu, act: act}
	if c.windows, err = windows(in, k, s.Strides, s.Padding); err != nil {
		return nil, err
	}
	c.out = Shape{in.H, in.W, s.Filters}
	if g := c.windows; g != nil {
		c.out.H, c.out.W = g.OH, g.OW
	}
	b.l.Out = c.out
	c.kernel = b.glorot("kernel", []int{k, k, in.C, s.Filters}, k*k*in.C, k*k*s.Filters)
	if s.Biased() {
		c.bias = b.param("bias", []int{s.Filters}, Zeros, true)
	}
	return c, nil
}

// windows is the geometry of a k x k convolution of in at strides with
// padding, as TensorFlow has them: "same" gives ceil(in / stride) outputs
// a side, the input padded by what they need, the larger half below and
// right; "valid" the windows wholly inside. Nil at stride 1 with "same"
// padding, which the convolution kernels run.
func windows(in Shape, k int, strides Pair, padding string) (*kernels.Window, error) {
	sh, sw := 1, 1
	if strides != nil {
		if len(strides) != 2 || strides[0] < 1 || strides[1] < 1 || strides[0] > maxKernel || strides[1] > maxKernel {
			return nil, fmt.Errorf("strides %v: rows and columns, each in 1..%d", []int(strides), maxKernel)
		}
		sh, sw = strides[0], strides[1]
	}
	g := &kernels.Window{H: in.H, W: in.W, C: in.C, KH: k, KW: k, SH: sh, SW: sw}
	switch padding {
	case "", "same":
		if sh == 1 && sw == 1 {
			return nil, nil
		}
		place(g, true)
	case "valid":
		if in.H < k || in.W < k {
			return nil, fmt.Errorf("input %v is smaller than the %dx%d kernel, which \"valid\" padding keeps inside", in, k, k)
		}
		place(g, false)
	default:
		return nil, fmt.Errorf("padding %q (same or valid)", padding)
	}
	return g, nil
}

// place sets g's outputs and padding as TensorFlow places windows:
// "same" (same) gives ceil(in / stride) outputs a side, padded by what
// they need, the larger half below and right; "valid" the windows wholly
// inside, which g's input must hold.
func place(g *kernels.Window, same bool) {
	if !same {
		g.OH, g.OW = (g.H-g.KH)/g.SH+1, (g.W-g.KW)/g.SW+1
		return
	}
	g.OH, g.OW = (g.H+g.SH-1)/g.SH, (g.W+g.SW-1)/g.SW
	g.PadTop = max((g.OH-1)*g.SH+g.KH-g.H, 0) / 2
	g.PadLeft = max((g.OW-1)*g.SW+g.KW-g.W, 0) / 2
}

// conv is the layer's convolution at a batch size, its variant not yet
// chosen.
func (c *conv2d) conv(batch int) kernels.Conv {
	return kernels.Conv{Batch: batch, H: c.in.H, W: c.in.W, Cin: c.in.C, Cout: c.out.C, KH: c.size, KW: c.size, Bias: c.bias != nil, ReLU: c.relu}
}

// window is the layer's windows at a batch size.
func (c *conv2d) window(batch int) kernels.Window {
	g := *c.windows
	g.Batch = batch
	return g
}

// gemms are a strided or "valid" convolution's products: forward, the
// windows times the kernel; the kernel gradient, the windows' transpose
// times the output gradient; the windows' gradient, the output gradient
// times the kernel's transpose (not in the first layer).
func (c *conv2d) gemms(batch int, first bool) []kernels.Gemm {
	g := c.window(batch)
	rows, taps := batch*g.OH*g.OW, g.Taps()
	out := []kernels.Gemm{
		{M: rows, N: c.out.C, K: taps, Bias: c.bias != nil, ReLU: c.relu},
		{M: taps, N: c.out.C, K: rows, TransA: true},
	}
	if !first {
		out = append(out, kernels.Gemm{M: rows, N: taps, K: c.out.C, TransB: true})
	}
	return out
}

func (c *conv2d) needs(batch int, first bool, t kernels.Tuning) needs {
	var n needs
	if c.bias != nil {
		n.colSum = kernels.ColSumScratch(batch*c.out.H*c.out.W, c.out.C)
	}
	if c.windows != nil {
		// The windows, kept for the kernel gradient, then their gradient.
		n.own = append([]int{c.window(batch).ColFloats()}, c.act.own(batch*c.out.Size())...)
		for _, g := range c.gemms(batch, first) {
			n.split = max(n.split, t.Scratch(g))
		}
		return n
	}
	n.split = t.Scratch(kernels.ConvProduct{Conv: c.conv(batch), Pass: kernels.ConvBackwardFilter})
	if !first {
		n.own = []int{c.kernel.Size()} // the kernel transposed, for the input gradient
	}
	n.own = append(n.own, c.act.own(batch*c.out.Size())...)
	return n
}

// passes name the products as the step records them.
var passes = [...]string{"forward", "backward-filter", "backward-data"}

func (c *conv2d) products(batch int, first bool) []product {
	if c.windows != nil {
		var out []product
		for i, g := range c.gemms(batch, first) {
			out = append(out, product{passes[i], g})
		}
		return out
	}
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
	var err error
	if c.windows != nil {
		col := whole(p.own[0])
		g := p.gemm(passes[0], c.gemms(p.batch(), true)[0])
		err = errors.Join(c.window(p.batch()).Im2Col(p.ctx(), p.rec, p.in, col),
			g.Record(p.ctx(), p.rec, kernels.GemmArgs{A: col, B: p.param(c.kernel), C: c.act.productOut(p), Bias: c.biasRange(p), Scratch: p.splitScratch()}))
	} else {
		conv := p.conv("forward", c.conv(p.batch()), kernels.ConvForward)
		err = conv.Forward(p.ctx(), p.rec, p.in, p.param(c.kernel), c.act.productOut(p), c.biasRange(p))
	}
	if err != nil {
		return err
	}
	return c.act.forward(p)
}

// biasRange is the bias's values, none without one.
func (c *conv2d) biasRange(p *pass) vk.Range {
	if c.bias == nil {
		return vk.Range{}
	}
	return p.param(c.bias)
}

// biasGradient records the bias's gradient, where it has one.
func (c *conv2d) biasGradient(p *pass) error {
	if c.bias == nil {
		return nil
	}
	return p.colSum(c.bias)
}

func (c *conv2d) backward(p *pass) error {
	var err error
	if c.relu {
		err = p.reluBackward()
	}
	err = errors.Join(err, c.act.backward(p))
	if c.windows != nil {
		return errors.Join(err, c.backwardWindows(p))
	}
	filter := p.conv("backward-filter", c.conv(p.batch()), kernels.ConvBackwardFilter)
	err = errors.Join(err,
		filter.BackwardFilter(p.ctx(), p.rec, p.in, p.dOut, p.grad(c.kernel), p.splitScratch()),
		c.biasGradient(p))
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

// backwardWindows records a strided or "valid" convolution's gradients:
// the kernel's from the windows, then the windows' gradient over them,
// summed back into the input's.
func (c *conv2d) backwardWindows(p *pass) error {
	col := whole(p.own[0])
	gemms := c.gemms(p.batch(), !p.inputGradient())
	dW := p.gemm(passes[1], gemms[1])
	err := errors.Join(dW.Record(p.ctx(), p.rec, kernels.GemmArgs{A: col, B: p.dOut, C: p.grad(c.kernel), Scratch: p.splitScratch()}), c.biasGradient(p))
	if err != nil {
		return err
	}
	if err := p.mark("backward-filter"); err != nil || !p.inputGradient() {
		return err
	}
	dCol := p.gemm(passes[2], gemms[2])
	err = errors.Join(dCol.Record(p.ctx(), p.rec, kernels.GemmArgs{A: p.dOut, B: p.param(c.kernel), C: col, Scratch: p.splitScratch()}),
		c.window(p.batch()).Col2Im(p.ctx(), p.rec, col, p.dIn))
	if err != nil {
		return err
	}
	return p.mark("backward-data")
}

// Windows is how a convolution layer places its windows, for exports:
// its steps and the padding on each side.
type Windows struct{ SH, SW, PadTop, PadLeft, PadBottom, PadRight int }

// ConvWindows is the windows of a conv2d, depthwiseconv2d or
// separableconv2d layer.
func ConvWindows(l *Layer) Windows { return l.rec.(interface{ convWindows() Windows }).convWindows() }

func (c *conv2d) convWindows() Windows {
	if c.windows == nil {
		return Windows{1, 1, c.size / 2, c.size / 2, c.size / 2, c.size / 2}
	}
	return windowsOf(*c.windows)
}

// windowsOf is g's windows: the padding below and right is what the last
// window needs past the image, none where it ends inside.
func windowsOf(g kernels.Window) Windows {
	return Windows{g.SH, g.SW, g.PadTop, g.PadLeft,
		max((g.OH-1)*g.SH+g.KH-g.H-g.PadTop, 0), max((g.OW-1)*g.SW+g.KW-g.W-g.PadLeft, 0)}
}
