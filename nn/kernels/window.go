package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// im2col.comp and globalpool.comp each read and write both their buffers,
// the one direction or the other as their constant says.
var (
	im2colShader         = groupShader("im2col", "im2col", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 12, 0)
	col2imShader         = groupShader("im2col", "col2im", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 12, 1)
	globalPoolShader     = groupShader("globalpool", "forward", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 3, 0)
	globalPoolBackShader = groupShader("globalpool", "backward", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 3, 1)
)

// Window is the geometry of a convolution's windows: Batch NHWC images of
// H x W x C, an OH x OW output, KH x KW kernels moved SH and SW pixels a
// step, the input padded by PadTop rows above and PadLeft columns left
// (and whatever the output needs below and right).
type Window struct {
	Batch, H, W, C, OH, OW, KH, KW, SH, SW, PadTop, PadLeft int
}

// Taps is the number of values a window holds: the GEMM's k.
func (g Window) Taps() int { return g.KH * g.KW * g.C }

// ColFloats is the size of the matrix of the batch's windows.
func (g Window) ColFloats() int { return g.Batch * g.OH * g.OW * g.Taps() }

// Im2Col records col = the windows of x, one row an output pixel.
func (g Window) Im2Col(ctx *vk.Context, rec *vk.Recording, x, col vk.Range) error {
	return g.record(ctx, rec, im2colShader, x, col, g.OH*g.OW*g.Taps())
}

// Col2Im records x's gradient from its windows' gradients col: each input
// value's the sum of the window entries that read it.
func (g Window) Col2Im(ctx *vk.Context, rec *vk.Recording, col, x vk.Range) error {
	return g.record(ctx, rec, col2imShader, x, col, g.H*g.W*g.C)
}

func (g Window) record(ctx *vk.Context, rec *vk.Recording, s shader, x, col vk.Range, perImage int) error {
	if g.Batch <= 0 || g.H <= 0 || g.W <= 0 || g.C <= 0 || g.OH <= 0 || g.OW <= 0 || g.KH <= 0 || g.KW <= 0 || g.SH <= 0 || g.SW <= 0 || g.PadTop < 0 || g.PadLeft < 0 {
		return fmt.Errorf("im2col: bad window geometry %+v", g)
	}
	if err := errors.Join(needFloats("im2col image", x, g.Batch*g.H*g.W*g.C), needFloats("im2col windows", col, g.ColFloats())); err != nil {
		return err
	}
	what := fmt.Sprintf("the windows of one %dx%dx%d image", g.H, g.W, g.C)
	args := []sliced{{x, 4 * int64(g.H*g.W*g.C)}, {col, 4 * int64(g.OH*g.OW*g.Taps())}}
	return inSlices(ctx.Info, what, g.Batch, args, func(_, count int, args []vk.Range) error {
		n := count * perImage
		push := []uint32{uint32(n), uint32(g.H), uint32(g.W), uint32(g.C), uint32(g.OH), uint32(g.OW),
			uint32(g.KH), uint32(g.KW), uint32(g.SH), uint32(g.SW), uint32(g.PadTop), uint32(g.PadLeft)}
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
