package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// The depthwise convolution's kernels (depthwise_*.comp): direct loops,
// not GEMMs, as each output value sums only KH x KW products.
var (
	depthwiseShader       = groupShader("depthwise_fwd", "", []vk.Access{vk.Read, vk.Read, vk.Read, vk.Write}, depthwisePush)
	depthwiseDataShader   = groupShader("depthwise_bwd_data", "", []vk.Access{vk.Read, vk.Read, vk.Write}, depthwisePush)
	depthwiseFilterShader = groupShader("depthwise_bwd_filter", "", []vk.Access{vk.Read, vk.Read, vk.ReadWrite}, depthwisePush)
)

// depthwisePush is the push constants of depthwise_common.glsl.
const depthwisePush = 16

// Depthwise is a depthwise convolution: Window's geometry (C the input's
// channels), each input channel convolved with M kernels of its own, to
// output channels c*M + m; the kernel is KH x KW x C x M (Keras' layout).
type Depthwise struct {
	Window
	M          int
	Bias, ReLU bool
}

// Channels is the output's channels.
func (d Depthwise) Channels() int { return d.C * d.M }

func (d Depthwise) check() error {
	g := d.Window
	if g.Batch <= 0 || g.H <= 0 || g.W <= 0 || g.C <= 0 || d.M <= 0 || g.OH <= 0 || g.OW <= 0 || g.KH <= 0 || g.KW <= 0 || g.SH <= 0 || g.SW <= 0 || g.PadTop < 0 || g.PadLeft < 0 || g.DH < 0 || g.DW < 0 || g.Groups > 1 {
		return fmt.Errorf("depthwise convolution: bad geometry %+v", d)
	}
	return nil
}

func (d Depthwise) push(n int, flags uint32) []uint32 {
	g := d.Window
	dh, dw := g.Dilation()
	return []uint32{uint32(n), uint32(g.H), uint32(g.W), uint32(g.C), uint32(d.M), uint32(g.OH), uint32(g.OW),
		uint32(g.KH), uint32(g.KW), uint32(g.SH), uint32(g.SW), uint32(g.PadTop), uint32(g.PadLeft), flags, uint32(dh), uint32(dw)}
}

func (d Depthwise) kernelFloats() int { return d.KH * d.KW * d.Channels() }

// images are the batch's input and output, one image each, for slicing.
func (d Depthwise) images(x, y vk.Range) []sliced {
	return []sliced{{x, 4 * int64(d.H*d.W*d.C)}, {y, 4 * int64(d.OH*d.OW*d.Channels())}}
}

func (d Depthwise) what() string {
	return fmt.Sprintf("one %dx%dx%d image of a depthwise convolution", d.H, d.W, d.C)
}

// Forward records y = the convolution of x by w, plus bias where d.Bias
// (bias unread otherwise), then the ReLU where d.ReLU.
func (d Depthwise) Forward(ctx *vk.Context, rec *vk.Recording, x, w, bias, y vk.Range) error {
	if err := d.check(); err != nil {
		return err
	}
	var flags uint32
	if d.Bias {
		flags |= 1
	} else {
		bias = w
	}
	if d.ReLU {
		flags |= 2
	}
	err := errors.Join(needFloats("depthwise input", x, d.Batch*d.H*d.W*d.C), needFloats("depthwise kernel", w, d.kernelFloats()),
		needFloats("depthwise output", y, d.Batch*d.OH*d.OW*d.Channels()))
	if d.Bias {
		err = errors.Join(err, needFloats("depthwise bias", bias, d.Channels()))
	}
	if err != nil {
		return err
	}
	return inSlices(ctx.Info, d.what(), d.Batch, d.images(x, y), func(_, count int, args []vk.Range) error {
		n := count * d.OH * d.OW * d.Channels()
		return single(ctx, rec, depthwiseShader, n, d.push(n, flags), []vk.Range{args[0], w, bias, args[1]})
	})
}

// BackwardData records dx, the input gradient for output gradient dy.
func (d Depthwise) BackwardData(ctx *vk.Context, rec *vk.Recording, dy, w, dx vk.Range) error {
	if err := d.check(); err != nil {
		return err
	}
	err := errors.Join(needFloats("depthwise output gradient", dy, d.Batch*d.OH*d.OW*d.Channels()),
		needFloats("depthwise kernel", w, d.kernelFloats()), needFloats("depthwise input gradient", dx, d.Batch*d.H*d.W*d.C))
	if err != nil {
		return err
	}
	return inSlices(ctx.Info, d.what(), d.Batch, d.images(dx, dy), func(_, count int, args []vk.Range) error {
		n := count * d.H * d.W * d.C
		return single(ctx, rec, depthwiseDataShader, n, d.push(n, 0), []vk.Range{args[1], w, args[0]})
	})
}

// BackwardFilter records dw, the kernel gradient for input x and output
// gradient dy: each value one invocation's sum in a fixed order, a batch
// recorded in slices adding each slice's sums to the last's.
func (d Depthwise) BackwardFilter(ctx *vk.Context, rec *vk.Recording, x, dy, dw vk.Range) error {
	if err := d.check(); err != nil {
		return err
	}
	err := errors.Join(needFloats("depthwise input", x, d.Batch*d.H*d.W*d.C),
		needFloats("depthwise output gradient", dy, d.Batch*d.OH*d.OW*d.Channels()), needFloats("depthwise kernel gradient", dw, d.kernelFloats()))
	if err != nil {
		return err
	}
	return inSlices(ctx.Info, d.what(), d.Batch, d.images(x, dy), func(first, count int, args []vk.Range) error {
		var flags uint32
		if first > 0 {
			flags = 1
		}
		return single(ctx, rec, depthwiseFilterShader, d.kernelFloats(), d.push(count, flags), []vk.Range{args[0], args[1], dw})
	})
}

// FLOPs is the multiply-adds of a forward pass, twice.
func (d Depthwise) FLOPs() float64 {
	return 2 * float64(d.Batch*d.OH*d.OW*d.Channels()*d.KH*d.KW)
}
