package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// pool.comp's modes: max and average pooling in any window, zero padding,
// and their input gradients.
var (
	windowMaxShader     = groupShader("pool", "max", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 0)
	windowMaxBackShader = groupShader("pool", "max backward", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 1)
	windowAvgShader     = groupShader("pool", "average", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 2)
	windowAvgBackShader = groupShader("pool", "average backward", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 3)
	padShader           = groupShader("pool", "pad", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 4)
	cropShader          = groupShader("pool", "crop", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 5)
	globalMaxBackShader = groupShader("pool", "global max backward", []vk.Access{vk.Read, vk.Read, vk.Write}, 12, 6)
)

// MaxPool records y = the first maximum of each window of x, where the
// padding counts for nothing.
func (g Window) MaxPool(ctx *vk.Context, rec *vk.Recording, x, y vk.Range) error {
	in, out := g.imageBytes()
	return g.pool(ctx, rec, windowMaxShader, []sliced{{x, in}, {x, in}, {y, out}}, out)
}

// MaxPoolBackward records dx: each output's gradient dy summed into its
// window's first maximum.
func (g Window) MaxPoolBackward(ctx *vk.Context, rec *vk.Recording, x, dy, dx vk.Range) error {
	in, out := g.imageBytes()
	if g.OH == 1 && g.OW == 1 && g.KH == g.H && g.KW == g.W && g.PadTop == 0 && g.PadLeft == 0 {
		return g.pool(ctx, rec, globalMaxBackShader, []sliced{{x, in}, {dy, out}, {dx, in}}, out)
	}
	return g.pool(ctx, rec, windowMaxBackShader, []sliced{{x, in}, {dy, out}, {dx, in}}, in)
}

// AvgPool records y = the mean of each window's real pixels (Keras';
// ONNX's count_include_pad=0).
func (g Window) AvgPool(ctx *vk.Context, rec *vk.Recording, x, y vk.Range) error {
	in, out := g.imageBytes()
	return g.pool(ctx, rec, windowAvgShader, []sliced{{x, in}, {x, in}, {y, out}}, out)
}

// AvgPoolBackward records dx: each output's gradient shared evenly by its
// window's real pixels.
func (g Window) AvgPoolBackward(ctx *vk.Context, rec *vk.Recording, dy, dx vk.Range) error {
	in, out := g.imageBytes()
	return g.pool(ctx, rec, windowAvgBackShader, []sliced{{dy, out}, {dy, out}, {dx, in}}, in)
}

// Pad records y = x with PadTop rows of zeros above and PadLeft columns
// left, and the rest of the OH x OW output below and right (a 1x1 window
// at stride 1).
func (g Window) Pad(ctx *vk.Context, rec *vk.Recording, x, y vk.Range) error {
	in, out := g.imageBytes()
	return g.pool(ctx, rec, padShader, []sliced{{x, in}, {x, in}, {y, out}}, out)
}

// Crop records Pad's input gradient: dy without its padding.
func (g Window) Crop(ctx *vk.Context, rec *vk.Recording, dy, dx vk.Range) error {
	in, out := g.imageBytes()
	return g.pool(ctx, rec, cropShader, []sliced{{dy, out}, {dy, out}, {dx, in}}, in)
}

// imageBytes are one image's input and output sizes.
func (g Window) imageBytes() (in, out int64) {
	return 4 * int64(g.H*g.W*g.C), 4 * int64(g.OH*g.OW*g.C)
}

// pool records one of pool.comp's modes over args (each with one image's
// bytes), perImage bytes of output an image, in batch slices.
func (g Window) pool(ctx *vk.Context, rec *vk.Recording, s shader, args []sliced, perImage int64) error {
	if g.Batch <= 0 || g.H <= 0 || g.W <= 0 || g.C <= 0 || g.OH <= 0 || g.OW <= 0 || g.KH <= 0 || g.KW <= 0 || g.SH <= 0 || g.SW <= 0 || g.PadTop < 0 || g.PadLeft < 0 {
		return fmt.Errorf("pool: bad window geometry %+v", g)
	}
	names := []string{"pool input", "pool second input", "pool output"}
	var errs []error
	for i := range args {
		errs = append(errs, needFloats(names[i], args[i].r, g.Batch*int(args[i].bytes/4)))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	what := fmt.Sprintf("one %dx%dx%d image of a pooling", g.H, g.W, g.C)
	return inSlices(ctx.Info, what, g.Batch, args, func(_, count int, args []vk.Range) error {
		n := count * int(perImage/4)
		push := []uint32{uint32(n), uint32(g.H), uint32(g.W), uint32(g.C), uint32(g.OH), uint32(g.OW),
			uint32(g.KH), uint32(g.KW), uint32(g.SH), uint32(g.SW), uint32(g.PadTop), uint32(g.PadLeft)}
		return single(ctx, rec, s, n, push, args)
	})
}
