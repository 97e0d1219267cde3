package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// ConvPass is one of the three GEMMs of a convolution.
type ConvPass int

const (
	ConvForward ConvPass = iota
	ConvBackwardData
	ConvBackwardFilter
)

func (p ConvPass) String() string {
	return [...]string{"forward", "backward-data", "backward-filter"}[p]
}

// Conv is a 2-D convolution on NHWC tensors with "same" padding and
// stride 1, computed as implicit GEMMs (no im2col buffer). The kernel is
// HWIO: [KH][KW][Cin][Cout].
type Conv struct {
	Batch, H, W, Cin, Cout, KH, KW int
	Bias, ReLU                     bool
	Variant                        GemmVariant
	Precision                      Precision // as Gemm's
}

func (c Conv) check() error {
	if c.Batch <= 0 || c.H <= 0 || c.W <= 0 || c.Cin <= 0 || c.Cout <= 0 || c.KH <= 0 || c.KW <= 0 {
		return fmt.Errorf("conv %+v: every size must be positive", c)
	}
	if c.KH%2 == 0 || c.KW%2 == 0 {
		return fmt.Errorf("conv: kernel %dx%d must have odd sides for same padding", c.KH, c.KW)
	}
	return nil
}

func (c Conv) pixels() int { return c.Batch * c.H * c.W }

// FLOPs is the multiply-adds of one pass (forward, or either backward) x 2.
func (c Conv) FLOPs() float64 {
	return 2 * float64(c.pixels()) * float64(c.Cout) * float64(c.KH*c.KW*c.Cin)
}

// shader is the pipeline of one pass: the pass's shader in the variant's
// style, with the forward pass's bias and ReLU flags.
func (c Conv) shader(info vk.DeviceInfo, pass ConvPass) shader {
	name := [...]string{"conv_fwd", "conv_bwd_data", "conv_bwd_filter"}[pass]
	access := []vk.Access{vk.Read, vk.Read, vk.Write}
	flags := []uint32{0, 0}
	if pass == ConvForward {
		access = append(access, vk.Read) // bias
		flags = []uint32{boolWord(c.Bias), boolWord(c.ReLU)}
	}
	style, spec, inst := c.Variant.specialize(info, c.Precision, flags...)
	lanes, wg := c.Variant.subgroup(inst)
	return shader{name: name + "_" + style, label: c.Variant.label(c.Precision) + flagNames(flags, "bias", "relu"), access: access, push: 10, spec: spec,
		subgroup: lanes, workgroup: wg}
}

// record dispatches one of the convolution passes as a GEMM of m x n x k,
// with the sum over k split across workgroup layers of kSplit each.
func (c Conv) record(ctx *vk.Context, rec *vk.Recording, pass ConvPass, m, n, k, kSplit int, args ...vk.Range) error {
	if err := c.check(); err != nil {
		return err
	}
	p := ConvProduct{Conv: c, Pass: pass}
	if err := Check(ctx.Info, p, p.Choice()); err != nil {
		return err
	}
	s := c.shader(ctx.Info, pass)
	kern, err := s.kernel(ctx)
	if err != nil {
		return err
	}
	rows, cols := c.Variant.tile()
	splits := (k + kSplit - 1) / kSplit
	grid := [3]uint32{uint32((n + int(cols) - 1) / int(cols)), uint32((m + int(rows) - 1) / int(rows)), uint32(splits)}
	push := []uint32{uint32(m), uint32(n), uint32(k), uint32(c.H), uint32(c.W), uint32(c.Cin), uint32(c.Cout), uint32(c.KH), uint32(c.KW), uint32(kSplit)}
	if err := rec.Dispatch(kern, grid, push, args...); err != nil {
		return fmt.Errorf("%s %dx%dx%d: %w", s.name, m, n, k, err)
	}
	return nil
}

// needFloats checks that r holds n float32s.
func needFloats(what string, r vk.Range, n int) error {
	return needRange(what, r, int64(n), 4, "floats")
}

// needRange checks that r is a buffer's range that holds n elements of
// size bytes each (units, in its error): what the range says it spans,
// within what the buffer has past its offset.
func needRange(what string, r vk.Range, n, size int64, units string) error {
	if r.Buf == nil {
		return fmt.Errorf("%s: no buffer", what)
	}
	have := r.Buf.Size() - r.Offset
	if r.Size > 0 {
		have = min(have, r.Size)
	}
	if have < n*size {
		return fmt.Errorf("%s holds %d %s, needs %d", what, have/size, units, n)
	}
	return nil
}

// images is how many images each dispatch of a pass takes, so that its
// activations stay within the device's storage-buffer range: the whole
// batch where they fit. The kernel is bound whole.
func (c Conv) images(info vk.DeviceInfo) (int, error) {
	if err := c.kernelFits(info); err != nil {
		return 0, err
	}
	return perSlice(info, c.image(), c.Batch, 1, c.imageBytes(c.Cin), c.imageBytes(c.Cout))
}

// kernelFits says why the kernel, bound whole to every slice, passes the
// device's storage-buffer range.
func (c Conv) kernelFits(info vk.DeviceInfo) error {
	return fitsWhole(info, fmt.Sprintf("a %dx%d kernel of %d>%d channels", c.KH, c.KW, c.Cin, c.Cout), 4*int64(c.KH*c.KW*c.Cin*c.Cout))
}

func (c Conv) image() string {
	return fmt.Sprintf("one %dx%dx%d image of a convolution to %d channels", c.H, c.W, c.Cin, c.Cout)
}

// fits says why a pass cannot be recorded within the device's
// storage-buffer range: an image's activations or the kernel past it, or
// the kernel gradient's partial sums.
func (c Conv) fits(info vk.DeviceInfo, pass ConvPass) error {
	if _, err := c.images(info); err != nil {
		return err
	}
	if pass != ConvBackwardFilter {
		return nil
	}
	return fitsWhole(info, fmt.Sprintf("the partial kernel gradients of a %dx%d kernel of %d>%d channels", c.KH, c.KW, c.Cin, c.Cout), 4*int64(c.FilterScratch(info)))
}

// imageBytes is one image's values of channels.
func (c Conv) imageBytes(channels int) int64 { return 4 * int64(c.H*c.W*channels) }

// slices records a pass one batch slice at a time (all of the batch where
// its activations fit the device's range), with s the slice's
// convolution and args its arguments.
func (c Conv) slices(ctx *vk.Context, args []sliced, record func(s Conv, first int, args []vk.Range) error) error {
	if err := c.kernelFits(ctx.Info); err != nil {
		return err
	}
	return inSlices(ctx.Info, c.image(), c.Batch, args, func(first, count int, args []vk.Range) error {
		s := c
		s.Batch = count
		return record(s, first, args)
	})
}

// Forward records out = conv(in, w) (+ bias) (ReLU).
func (c Conv) Forward(ctx *vk.Context, rec *vk.Recording, in, w, out, bias vk.Range) error {
	taps := c.KH * c.KW
	if err := errors.Join(needFloats("conv input", in, c.pixels()*c.Cin), needFloats("conv kernel", w, taps*c.Cin*c.Cout),
		needFloats("conv output", out, c.pixels()*c.Cout)); err != nil {
		return err
	}
	if c.Bias {
		if err := needFloats("conv bias", bias, c.Cout); err != nil {
			return err
		}
	} else {
		bias = w // bound but unused
	}
	args := []sliced{{in, c.imageBytes(c.Cin)}, {w, 0}, {out, c.imageBytes(c.Cout)}, {bias, 0}}
	return c.slices(ctx, args, func(s Conv, _ int, args []vk.Range) error {
		return s.record(ctx, rec, ConvForward, s.pixels(), c.Cout, taps*c.Cin, taps*c.Cin, args...)
	})
}

// BackwardData records dIn from dOut and the kernel transposed to
// [KH][KW][Cout][Cin] (see TransposeKernel).
func (c Conv) BackwardData(ctx *vk.Context, rec *vk.Recording, dOut, wT, dIn vk.Range) error {
	taps := c.KH * c.KW
	if err := errors.Join(needFloats("conv output gradient", dOut, c.pixels()*c.Cout), needFloats("conv transposed kernel", wT, taps*c.Cin*c.Cout),
		needFloats("conv input gradient", dIn, c.pixels()*c.Cin)); err != nil {
		return err
	}
	args := []sliced{{dOut, c.imageBytes(c.Cout)}, {wT, 0}, {dIn, c.imageBytes(c.Cin)}}
	return c.slices(ctx, args, func(s Conv, _ int, args []vk.Range) error {
		return s.record(ctx, rec, ConvBackwardData, s.pixels(), c.Cin, taps*c.Cout, taps*c.Cout, args...)
	})
}

// BackwardFilter records the kernel gradient dW from the layer's input and
// output gradient. The sum over pixels is long and the kernel small, so it
// is split across workgroups into partial gradients (FilterScratch floats
// of scratch), then summed in order: deterministic, with no float atomics.
// Where the batch's activations pass the device's storage-buffer range,
// each slice of the batch sums its own partial gradients onto those of
// the slices before.
func (c Conv) BackwardFilter(ctx *vk.Context, rec *vk.Recording, in, dOut, dW, scratch vk.Range) error {
	taps := c.KH * c.KW
	size := taps * c.Cin * c.Cout
	if err := errors.Join(needFloats("conv input", in, c.pixels()*c.Cin), needFloats("conv output gradient", dOut, c.pixels()*c.Cout),
		needFloats("conv kernel gradient", dW, size)); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if err := errors.Join(needFloats("conv kernel-gradient scratch", scratch, c.FilterScratch(ctx.Info)), c.fits(ctx.Info, ConvBackwardFilter)); err != nil {
		return err
	}
	kSplit := c.kSplit()
	args := []sliced{{in, c.imageBytes(c.Cin)}, {dOut, c.imageBytes(c.Cout)}}
	return c.slices(ctx, args, func(s Conv, first int, args []vk.Range) error {
		layers := (s.pixels() + kSplit - 1) / kSplit
		if first == 0 && layers == 1 {
			return s.record(ctx, rec, ConvBackwardFilter, taps*c.Cin, c.Cout, s.pixels(), kSplit, args[0], args[1], dW)
		}
		parts := vk.Range{Buf: scratch.Buf, Offset: scratch.Offset, Size: 4 * int64(layers*size)}
		if err := s.record(ctx, rec, ConvBackwardFilter, taps*c.Cin, c.Cout, s.pixels(), kSplit, args[0], args[1], parts); err != nil {
			return err
		}
		if first == 0 {
			return splitSum(ctx, rec, parts, dW, dW, size, c.Cout, layers, false, false)
		}
		return addSum(ctx, rec, parts, dW, size, layers)
	})
}

// filterWorkgroups is how many workgroups of 128x128 tiles the kernel
// gradient should have at least: four waves of two a multiprocessor on a
// 132-SM H100, so that the last wave's idle share is small. With 256 the
// standard model's kernel gradients ran unsplit, on 50 and 100 workgroups
// of warp128 (13 and 26 TFLOPS). The split depends on shapes alone, so
// every device and variant sums in the same order.
const filterWorkgroups = 1024

// kSplit is how many pixels one workgroup layer of the kernel gradient
// sums: a multiple of 64, so that every GEMM tile depth divides it.
func (c Conv) kSplit() int {
	tiles := ((c.KH*c.KW*c.Cin + 127) / 128) * ((c.Cout + 127) / 128)
	want := (filterWorkgroups + tiles - 1) / tiles
	per := (c.pixels() + want - 1) / want
	return max(256, (per+63)/64*64)
}

// FilterScratch is the scratch BackwardFilter needs on the device, in
// floats: the partial gradients of the batch, or of the largest slice
// where the batch is sliced (none where one layer sums all).
func (c Conv) FilterScratch(info vk.DeviceInfo) int {
	per, err := c.images(info)
	if err != nil {
		return 0 // BackwardFilter reports it
	}
	layers := (per*c.H*c.W + c.kSplit() - 1) / c.kSplit()
	if layers == 1 && per == c.Batch {
		return 0
	}
	return layers * c.KH * c.KW * c.Cin * c.Cout
}

var transposeShader = groupShader("transpose", "", []vk.Access{vk.Read, vk.Write}, 3)

// TransposeKernel records wT[t][co][ci] = w[t][ci][co] for each of taps
// kernel positions.
func TransposeKernel(ctx *vk.Context, rec *vk.Recording, w, wT vk.Range, taps, cin, cout int) error {
	n := taps * cin * cout
	if err := errors.Join(needFloats("kernel", w, n), needFloats("transposed kernel", wT, n)); err != nil {
		return err
	}
	k, err := transposeShader.kernel(ctx)
	if err != nil {
		return err
	}
	grid, err := ctx.Grid1D(int64((n + elementwiseGroup - 1) / elementwiseGroup))
	if err != nil {
		return err
	}
	return rec.Dispatch(k, grid, []uint32{uint32(n), uint32(cin), uint32(cout)}, w, wT)
}
