package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// im2col.comp and globalpool.comp each read and write both their buffers,
// the one direction or the other as their constant says. im2col.comp's
// second constant gives an invocation one value (GPUs) or a run of a
// group's channels (CPUs: runs).
var (
	im2colShader         = groupShader("im2col", "im2col", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 16, 0, 0)
	col2imShader         = groupShader("im2col", "col2im", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 16, 1, 0)
	im2colRunsShader     = groupShader("im2col", "im2col runs", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 16, 0, 1)
	col2imRunsShader     = groupShader("im2col", "col2im runs", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 16, 1, 1)
	globalPoolShader     = groupShader("globalpool", "forward", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 3, 0)
	globalPoolBackShader = groupShader("globalpool", "backward", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 3, 1)
)

// Window is the geometry of a convolution's windows: Batch NHWC images of
// H x W x C, an OH x OW output, KH x KW kernels moved SH and SW pixels a
// step, their taps DH and DW pixels apart (dilation; 0 is 1), the input
// padded by PadTop rows above and PadLeft columns left (and whatever the
// output needs below and right). Groups (0 is 1) split the channels into
// groups whose windows are matrices of their own.
type Window struct {
	Batch, H, W, C, OH, OW, KH, KW, SH, SW, PadTop, PadLeft int
	DH, DW, Groups                                          int
}

// Dilation is the taps' distances, rows then columns.
func (g Window) Dilation() (int, int) { return max(g.DH, 1), max(g.DW, 1) }

// Span is a window's extent, rows then columns: (k-1)*d + 1.
func (g Window) Span() (int, int) {
	dh, dw := g.Dilation()
	return (g.KH-1)*dh + 1, (g.KW-1)*dw + 1
}

// groups is the number of channel groups.
func (g Window) groups() int { return max(g.Groups, 1) }

// Taps is the number of values a group's window holds: the GEMM's k.
func (g Window) Taps() int { return g.KH * g.KW * g.C / g.groups() }

// ColFloats is the size of the matrix of a group's windows over the batch.
func (g Window) ColFloats() int { return g.Batch * g.OH * g.OW * g.Taps() }

// Im2Col records col = the windows of x over group's channels (0
// ungrouped), one row an output pixel.
func (g Window) Im2Col(ctx *vk.Context, rec *vk.Recording, group int, x, col vk.Range) error {
	if runs(ctx.Info) {
		return g.record(ctx, rec, im2colRunsShader, group, x, col, g.OH*g.OW*g.KH*g.KW)
	}
	return g.record(ctx, rec, im2colShader, group, x, col, g.OH*g.OW*g.Taps())
}

// Col2Im records the gradient of x's group channels from their windows'
// gradients col: each input value's the sum of the window entries that
// read it. The other groups' channels are left as they are.
func (g Window) Col2Im(ctx *vk.Context, rec *vk.Recording, group int, col, x vk.Range) error {
	if runs(ctx.Info) {
		return g.record(ctx, rec, col2imRunsShader, group, x, col, g.H*g.W)
	}
	return g.record(ctx, rec, col2imShader, group, x, col, g.H*g.W*g.C/g.groups())
}

// valuesOverride, when set, has a CPU device run im2col.comp's GPU
// instance, for its tests.
var valuesOverride bool

// runs says the device runs im2col.comp's runs of channels: a CPU, whose
// cost is the index arithmetic each invocation repeats.
func runs(info vk.DeviceInfo) bool { return info.Type == "CPU" && !valuesOverride }

func (g Window) record(ctx *vk.Context, rec *vk.Recording, s shader, group int, x, col vk.Range, perImage int) error {
	if g.Batch <= 0 || g.H <= 0 || g.W <= 0 || g.C <= 0 || g.OH <= 0 || g.OW <= 0 || g.KH <= 0 || g.KW <= 0 || g.SH <= 0 || g.SW <= 0 || g.PadTop < 0 || g.PadLeft < 0 ||
		g.DH < 0 || g.DW < 0 || g.Groups < 0 || g.C%g.groups() != 0 || group < 0 || group >= g.groups() {
		return fmt.Errorf("im2col: bad window geometry %+v (group %d)", g, group)
	}
	if err := errors.Join(needFloats("im2col image", x, g.Batch*g.H*g.W*g.C), needFloats("im2col windows", col, g.ColFloats())); err != nil {
		return err
	}
	what := fmt.Sprintf("the windows of one %dx%dx%d image", g.H, g.W, g.C)
	args := []sliced{{x, 4 * int64(g.H*g.W*g.C)}, {col, 4 * int64(g.OH*g.OW*g.Taps())}}
	dh, dw := g.Dilation()
	cg := g.C / g.groups()
	return inSlices(ctx.Info, what, g.Batch, args, func(_, count int, args []vk.Range) error {
		n := count * perImage
		push := []uint32{uint32(n), uint32(g.H), uint32(g.W), uint32(g.C), uint32(g.OH), uint32(g.OW),
			uint32(g.KH), uint32(g.KW), uint32(g.SH), uint32(g.SW), uint32(g.PadTop), uint32(g.PadLeft),
			uint32(dh), uint32(dw), uint32(cg), uint32(group * cg)}
		return single(ctx, rec, s, n, push, args)
	})
}

// GlobalAvgPool records y[n][c] = the mean over the pixels of x[n][.][c],
// for batch images of pixels pixels and c channels.
func GlobalAvgPool(ctx *vk.Context, rec *vk.Recording, x, y vk.Range, batch, pixels, c int) error {
	return globalPool(ctx, rec, globalPoolShader, x, y, batch, pixels, c, c)
}

// GlobalAvgPoolBackward records dx = dy spread evenly over each image's
// pixels.
func GlobalAvgPoolBackward(ctx *vk.Context, rec *vk.Recording, dy, dx vk.Range, batch, pixels, c int) error {
	return globalPool(ctx, rec, globalPoolBackShader, dx, dy, batch, pixels, c, pixels*c)
}

func globalPool(ctx *vk.Context, rec *vk.Recording, s shader, x, y vk.Range, batch, pixels, c, perImage int) error {
	if batch <= 0 || pixels <= 0 || c <= 0 {
		return fmt.Errorf("global pool: batch %d, %d pixels, %d channels", batch, pixels, c)
	}
	if err := errors.Join(needFloats("global pool input", x, batch*pixels*c), needFloats("global pool output", y, batch*c)); err != nil {
		return err
	}
	what := fmt.Sprintf("one image of %d pixels of %d channels", pixels, c)
	return inSlices(ctx.Info, what, batch, []sliced{{x, 4 * int64(pixels*c)}, {y, 4 * int64(c)}}, func(_, count int, args []vk.Range) error {
		n := count * perImage
		return single(ctx, rec, s, n, []uint32{uint32(n), uint32(pixels), uint32(c)}, args)
	})
}
