package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func init() {
	register("conv2d", kind{class: "Conv2D", prefix: "conv2d", fields: []string{"filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "use_bias", "activation", "alpha"}, build: buildConv2D})
}

// conv2d is a convolution with a bias (unless use_bias is false) and,
// optionally, a fused ReLU or another activation. An odd square kernel at
// stride 1 with "same" padding, undilated and ungrouped, runs the
// implicit-GEMM convolution kernels. Any other (strided, "valid", even or
// non-square, dilated, grouped) lays its windows out as a matrix (im2col)
// for the GEMM kernels, and sums their gradients back (col2im), which
// skips the taps a strided transpose would multiply by zero.
//
// Groups are G independent products, not a fourth grid index (split-K
// holds the GEMMs' z): the windows are one matrix a group, over its
// channels; each group's slice of the kernel and bias is gathered into a
// matrix of its own (the channel-slice kernel, concatenate's), multiplied,
// and its output scattered into its channels of the layer's output. The
// gradients run the same way back: the output gradient's group channels
// gathered, the kernel gradient scattered, each group's windows' gradient
// summed into its input channels.
type conv2d struct {
	in, out      Shape
	kh, kw       int    // kernel sides
	kernel, bias *Param // bias nil without one
	relu         bool
	// windows, where set, are the im2col path's.
	windows *kernels.Window
	act     activation
}

func buildConv2D(b *builder) (recorder, error) {
	s, in := b.spec(), b.in()
	if s.Filters <= 0 || s.Filters > maxDim {
		return nil, fmt.Errorf("needs filters, 1 to %d (got %d)", maxDim, s.Filters)
	}
	if b.flat {
		return nil, errors.New("a convolution after flatten or dense: its input is a vector")
	}
	groups := max(s.Groups, 1)
	if s.Groups < 0 || in.C%groups != 0 || s.Filters%groups != 0 {
		return nil, fmt.Errorf("groups %d must divide the input's %d channels and the %d filters", s.Groups, in.C, s.Filters)
	}
	relu, act, err := b.activation(false)
	if err != nil {
		return nil, err
	}
	g, err := convWindow(in, s)
	if err != nil {
		return nil, err
	}
	g.Groups = groups
	c := &conv2d{in: in, kh: g.KH, kw: g.KW, relu: relu, act: act, out: Shape{g.OH, g.OW, s.Filters}}
	if !implicit(g, s.Padding) {
		c.windows = &g
	}
	b.l.Out = c.out
	taps := g.KH * g.KW
	// Keras' fans, of the kernel's shape: a group's inputs in, every filter out.
	c.kernel = b.glorot("kernel", []int{g.KH, g.KW, in.C / groups, s.Filters}, taps*in.C/groups, taps*s.Filters)
	if s.Biased() {
		c.bias = b.param("bias", []int{s.Filters}, Zeros, true)
	}
	return c, nil
}

// convWindow is the geometry of a convolution layer's windows over in:
// its kernel_size (1 to maxKernel a side), strides, dilation_rate and
// padding, placed as TensorFlow places them (place).
func convWindow(in Shape, s LayerSpec) (kernels.Window, error) {
	g := kernels.Window{H: in.H, W: in.W, C: in.C, SH: 1, SW: 1, DH: 1, DW: 1}
	var err error
	if g.KH, g.KW, err = sides("kernel_size", s.KernelSize, 0); err != nil {
		return g, err
	}
	if g.SH, g.SW, err = sides("strides", s.Strides, 1); err != nil {
		return g, err
	}
	if g.DH, g.DW, err = sides("dilation_rate", s.DilationRate, 1); err != nil {
		return g, err
	}
	if (g.SH > 1 || g.SW > 1) && (g.DH > 1 || g.DW > 1) {
		return g, fmt.Errorf("dilation_rate %v with strides %v: Keras takes one or the other above 1", []int(s.DilationRate), []int(s.Strides))
	}
	switch s.Padding {
	case "", "same":
		place(&g, true)
	case "valid":
		if kh, kw := g.Span(); in.H < kh || in.W < kw {
			return g, fmt.Errorf("input %v is smaller than the %dx%d window, which \"valid\" padding keeps inside", in, kh, kw)
		}
		place(&g, false)
	default:
		return g, fmt.Errorf("padding %q (same or valid)", s.Padding)
	}
	return g, nil
}

// implicit says the implicit-GEMM convolution kernels run g: an odd
// square kernel at stride 1 with "same" padding, undilated, ungrouped.
func implicit(g kernels.Window, padding string) bool {
	return (padding == "" || padding == "same") && g.KH == g.KW && g.KH%2 == 1 &&
		g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.Groups <= 1
}

// sides reads a pair of sizes, rows then columns, each 1 to maxKernel;
// absent, both are def (0: required).
func sides(field string, p Pair, def int) (int, int, error) {
	if p == nil && def > 0 {
		return def, def, nil
	}
	if len(p) != 2 || p[0] < 1 || p[1] < 1 || p[0] > maxKernel || p[1] > maxKernel {
		return 0, 0, fmt.Errorf("%s %v: rows and columns, each 1 to %d", field, []int(p), maxKernel)
	}
	return p[0], p[1], nil
}

// place sets g's outputs and padding as TensorFlow places windows (of
// dilated extent, (k-1)*d + 1): "same" (same) gives ceil(in / stride)
// outputs a side, padded by what they need, the larger half below and
// right; "valid" the windows wholly inside, which g's input must hold.
func place(g *kernels.Window, same bool) {
	kh, kw := g.Span()
	if !same {
		g.OH, g.OW = (g.H-kh)/g.SH+1, (g.W-kw)/g.SW+1
		return
	}
	g.OH, g.OW = (g.H+g.SH-1)/g.SH, (g.W+g.SW-1)/g.SW
	g.PadTop = max((g.OH-1)*g.SH+kh-g.H, 0) / 2
	g.PadLeft = max((g.OW-1)*g.SW+kw-g.W, 0) / 2
}

// conv is the layer's convolution at a batch size, its variant not yet
// chosen.
func (c *conv2d) conv(batch int) kernels.Conv {
	return kernels.Conv{Batch: batch, H: c.in.H, W: c.in.W, Cin: c.in.C, Cout: c.out.C, KH: c.kh, KW: c.kw, Bias: c.bias != nil, ReLU: c.relu}
}

// window is the layer's windows at a batch size.
func (c *conv2d) window(batch int) kernels.Window {
	g := *c.windows
	g.Batch = batch
	return g
}

// groups is the number of channel groups (1 on the implicit-GEMM path).
func (c *conv2d) groups() int {
	if c.windows == nil {
		return 1
	}
	return c.windows.Groups
}

// gemms are an im2col convolution's products, a group's: forward, the
// windows times the kernel; the kernel gradient, the windows' transpose
// times the output gradient; the windows' gradient, the output gradient
// times the kernel's transpose (not in the first layer).
func (c *conv2d) gemms(batch int, first bool) []kernels.Gemm {
	g := c.window(batch)
	rows, taps, filters := batch*g.OH*g.OW, g.Taps(), c.out.C/c.groups()
	out := []kernels.Gemm{
		{M: rows, N: filters, K: taps, Bias: c.bias != nil, ReLU: c.relu},
		{M: taps, N: filters, K: rows, TransA: true},
	}
	if !first {
		out = append(out, kernels.Gemm{M: rows, N: taps, K: filters, TransB: true})
	}
	return out
}

// The buffers of a grouped convolution's own, after its groups' windows:
// each group's kernel, then one group's output (or its gradient), one
// group's kernel gradient and one group's bias.
const (
	groupKernels = iota
	groupOut
	groupKernelGrad
	groupBias
)

// ownAt is the index among the layer's own buffers of a grouped
// convolution's buffer of a kind (groupKernels: group's kernel).
func (c *conv2d) ownAt(kind, group int) int {
	if kind == groupKernels {
		return c.groups() + group
	}
	return 2*c.groups() + kind - 1
}

func (c *conv2d) needs(batch int, first bool, t kernels.Tuning) needs {
	var n needs
	if c.bias != nil {
		n.colSum = kernels.ColSumScratch(batch*c.out.H*c.out.W, c.out.C)
	}
	if c.windows != nil {
		// The windows, a matrix a group, kept for the kernel gradient, then
		// their gradient.
		g := c.window(batch)
		for range c.groups() {
			n.own = append(n.own, g.ColFloats())
		}
		if groups := c.groups(); groups > 1 {
			filters := c.out.C / groups
			for range groups {
				n.own = append(n.own, g.Taps()*filters)
			}
			n.own = append(n.own, batch*c.out.H*c.out.W*filters, g.Taps()*filters, filters)
		}
		n.own = append(n.own, c.act.own(batch*c.out.Size())...)
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
		// Each group's products, as a step records them.
		var out []product
		for i, g := range c.gemms(batch, first) {
			for range c.groups() {
				out = append(out, product{passes[i], g})
			}
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
	switch {
	case c.windows != nil && c.groups() > 1:
		err = c.forwardGroups(p)
	case c.windows != nil:
		col := whole(p.own[0])
		g := p.gemm(passes[0], c.gemms(p.batch(), true)[0])
		err = errors.Join(c.window(p.batch()).Im2Col(p.ctx(), p.rec, 0, p.in, col),
			g.Record(p.ctx(), p.rec, kernels.GemmArgs{A: col, B: p.param(c.kernel), C: c.act.productOut(p), Bias: c.biasRange(p), Scratch: p.splitScratch()}))
	default:
		conv := p.conv("forward", c.conv(p.batch()), kernels.ConvForward)
		err = conv.Forward(p.ctx(), p.rec, p.in, p.param(c.kernel), c.act.productOut(p), c.biasRange(p))
	}
	if err != nil {
		return err
	}
	return c.act.forward(p)
}

// slices are the channel slices of a grouped convolution's group: of its
// kernel (and kernel gradient), its bias, and its output (and output
// gradient) at a batch size.
func (c *conv2d) slices(batch, group int) (kernel, bias, out kernels.Channels) {
	filters := c.out.C / c.groups()
	at := group * filters
	kernel = kernels.Channels{Batch: 1, Pixels: c.window(batch).Taps(), C: filters, Wide: c.out.C, Offset: at}
	bias = kernels.Channels{Batch: 1, Pixels: 1, C: filters, Wide: c.out.C, Offset: at}
	out = kernels.Channels{Batch: batch, Pixels: c.out.H * c.out.W, C: filters, Wide: c.out.C, Offset: at}
	return kernel, bias, out
}

// forwardGroups records a grouped convolution's product group by group:
// the group's windows, kernel and bias gathered, multiplied, and the
// product scattered into the group's output channels.
func (c *conv2d) forwardGroups(p *pass) error {
	ctx, batch := p.ctx(), p.batch()
	y, bias := whole(p.own[c.ownAt(groupOut, 0)]), vk.Range{}
	for group := range c.groups() {
		col, w := whole(p.own[group]), whole(p.own[c.ownAt(groupKernels, group)])
		kernel, biasSlice, out := c.slices(batch, group)
		err := errors.Join(c.window(batch).Im2Col(ctx, p.rec, group, p.in, col), kernel.Gather(ctx, p.rec, w, p.param(c.kernel)))
		if c.bias != nil {
			bias = whole(p.own[c.ownAt(groupBias, 0)])
			err = errors.Join(err, biasSlice.Gather(ctx, p.rec, bias, p.param(c.bias)))
		}
		err = errors.Join(err, p.gemm(passes[0], c.gemms(batch, true)[0]).Record(ctx, p.rec, kernels.GemmArgs{A: col, B: w, C: y, Bias: bias, Scratch: p.splitScratch()}),
			out.Scatter(ctx, p.rec, y, c.act.productOut(p)))
		if err != nil {
			return err
		}
	}
	return nil
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
	switch {
	case c.windows != nil && c.groups() > 1:
		return errors.Join(err, c.backwardGroups(p))
	case c.windows != nil:
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
		kernels.TransposeKernel(p.ctx(), p.rec, p.param(c.kernel), kernelT, c.kh*c.kw, c.in.C, c.out.C),
		data.BackwardData(p.ctx(), p.rec, p.dOut, kernelT, p.dIn))
	if err != nil {
		return err
	}
	return p.mark("backward-data")
}

// backwardWindows records an ungrouped im2col convolution's gradients:
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
		c.window(p.batch()).Col2Im(p.ctx(), p.rec, 0, col, p.dIn))
	if err != nil {
		return err
	}
	return p.mark("backward-data")
}

// backwardGroups records a grouped convolution's gradients group by
// group: the group's output gradient gathered and its kernel gradient
// from its windows, scattered into the kernel's; then, with the output
// gradient gathered again, its windows' gradient over them, summed back
// into its input channels.
func (c *conv2d) backwardGroups(p *pass) error {
	ctx, batch := p.ctx(), p.batch()
	gemms := c.gemms(batch, !p.inputGradient())
	dY, dW := whole(p.own[c.ownAt(groupOut, 0)]), whole(p.own[c.ownAt(groupKernelGrad, 0)])
	err := c.biasGradient(p)
	for group := range c.groups() {
		kernel, _, out := c.slices(batch, group)
		err = errors.Join(err, out.Gather(ctx, p.rec, dY, p.dOut),
			p.gemm(passes[1], gemms[1]).Record(ctx, p.rec, kernels.GemmArgs{A: whole(p.own[group]), B: dY, C: dW, Scratch: p.splitScratch()}),
			kernel.Scatter(ctx, p.rec, dW, p.grad(c.kernel)))
	}
	if err != nil {
		return err
	}
	if err := p.mark("backward-filter"); err != nil || !p.inputGradient() {
		return err
	}
	for group := range c.groups() {
		col := whole(p.own[group])
		_, _, out := c.slices(batch, group)
		err = errors.Join(err, out.Gather(ctx, p.rec, dY, p.dOut),
			p.gemm(passes[2], gemms[2]).Record(ctx, p.rec, kernels.GemmArgs{A: dY, B: whole(p.own[c.ownAt(groupKernels, group)]), C: col, Scratch: p.splitScratch()}),
			c.window(batch).Col2Im(ctx, p.rec, group, col, p.dIn))
	}
	if err != nil {
		return err
	}
	return p.mark("backward-data")
}

// Windows is how a convolution layer places its windows, for exports:
// its kernel, steps, dilation and the padding on each side.
type Windows struct{ KH, KW, SH, SW, DH, DW, PadTop, PadLeft, PadBottom, PadRight int }

// ConvWindows is the windows of a conv2d, depthwiseconv2d or
// separableconv2d layer.
func ConvWindows(l *Layer) Windows { return l.rec.(interface{ convWindows() Windows }).convWindows() }

func (c *conv2d) convWindows() Windows {
	if c.windows == nil {
		k := c.kh
		return Windows{k, k, 1, 1, 1, 1, k / 2, k / 2, k / 2, k / 2}
	}
	return windowsOf(*c.windows)
}

// windowsOf is g's windows: the padding below and right is what the last
// window needs past the image, none where it ends inside.
func windowsOf(g kernels.Window) Windows {
	kh, kw := g.Span()
	dh, dw := g.Dilation()
	return Windows{g.KH, g.KW, g.SH, g.SW, dh, dw, g.PadTop, g.PadLeft,
		max((g.OH-1)*g.SH+kh-g.H-g.PadTop, 0), max((g.OW-1)*g.SW+kw-g.W-g.PadLeft, 0)}
}
