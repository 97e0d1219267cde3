// Package kernels records vkcnn's compute shaders: for each one its
// bindings, push constants, specialization and dispatch geometry, declared
// in one place. Layers use these; nothing here calls Vulkan directly.
package kernels

import (
	"errors"
	"fmt"
	"math"

	"vkcnn/augment"
	"vkcnn/shaders"
	"vkcnn/vk"
)

// elementwiseGroup is the workgroup size of the element-wise kernels.
const elementwiseGroup = 256

// kernel builds (or finds in the context's cache) the named shader.
func kernel(ctx *vk.Context, name string, bindings []vk.Access, pushWords int, spec ...uint32) (*vk.Kernel, error) {
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	return ctx.Kernel(vk.KernelSpec{Name: name, Code: code, Bindings: bindings, PushWords: pushWords, Spec: spec})
}

// maxRangeOverride, when positive, stands in for the device's
// maxStorageBufferRange so tests can exercise chunking on small buffers.
var maxRangeOverride int64

func maxRange(ctx *vk.Context) int64 {
	if maxRangeOverride > 0 {
		return maxRangeOverride
	}
	return int64(ctx.Info.MaxStorageBufferRange)
}

// chunkElems is the most float32 elements one binding may span such that
// chunk boundaries keep the device's offset alignment.
func chunkElems(ctx *vk.Context) int64 {
	align := max(int64(ctx.Info.StorageOffsetAlignment), 16)
	return (maxRange(ctx) / align * align) / 4
}

// elementwise records a kernel over n float32 elements of every split
// argument, in several dispatches where one binding would exceed the
// device's storage-buffer range; fixed arguments (such as the step buffer)
// are bound whole to each. push follows the element count n; spec follows
// the workgroup size.
func elementwise(ctx *vk.Context, rec *vk.Recording, name string, access []vk.Access, n int, split, fixed []vk.Range, push []uint32, spec ...uint32) error {
	return elementwiseBy(ctx, rec, name, access, n, 1, split, fixed, push, spec...)
}

// elementwiseBy is elementwise with per elements an invocation (1 or 4:
// chunks keep 16-byte alignment, so vec4 kernels see aligned bindings).
func elementwiseBy(ctx *vk.Context, rec *vk.Recording, name string, access []vk.Access, n, per int, split, fixed []vk.Range, push []uint32, spec ...uint32) error {
	if n < 0 {
		return fmt.Errorf("%s: negative length %d", name, n)
	}
	for i, a := range split {
		if err := needFloats(fmt.Sprintf("%s argument %d", name, i), a, n); err != nil {
			return err
		}
	}
	k, err := kernel(ctx, name, access, 1+len(push), append([]uint32{elementwiseGroup}, spec...)...)
	if err != nil {
		return err
	}
	step := chunkElems(ctx)
	for start := int64(0); start < int64(n); start += step {
		count := min(step, int64(n)-start)
		args := make([]vk.Range, 0, len(split)+len(fixed))
		for _, a := range split {
			args = append(args, vk.Range{Buf: a.Buf, Offset: a.Offset + 4*start, Size: 4 * count})
		}
		args = append(args, fixed...)
		invocations := (count + int64(per) - 1) / int64(per)
		grid, err := ctx.Grid1D((invocations + elementwiseGroup - 1) / elementwiseGroup)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := rec.Dispatch(k, grid, append([]uint32{uint32(count)}, push...), args...); err != nil {
			return err
		}
	}
	return nil
}

// single records a kernel with one invocation per item, in one dispatch.
func single(ctx *vk.Context, rec *vk.Recording, name string, access []vk.Access, items int, push []uint32, args []vk.Range, spec ...uint32) error {
	k, err := kernel(ctx, name, access, len(push), append([]uint32{elementwiseGroup}, spec...)...)
	if err != nil {
		return err
	}
	grid, err := ctx.Grid1D(int64((items + elementwiseGroup - 1) / elementwiseGroup))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return rec.Dispatch(k, grid, push, args...)
}

// Fill records x[i] = value for i < n.
func Fill(ctx *vk.Context, rec *vk.Recording, x vk.Range, n int, value float32) error {
	return elementwise(ctx, rec, "fill", []vk.Access{vk.Write}, n, []vk.Range{x}, nil, []uint32{math.Float32bits(value)})
}

// Copy records y[i] = x[i] for i < n, four floats an invocation, in one
// dispatch: the measure of the device's copy bandwidth.
func Copy(ctx *vk.Context, rec *vk.Recording, x, y vk.Range, n int) error {
	if err := errors.Join(needFloats("copy source", x, n), needFloats("copy destination", y, n)); err != nil {
		return err
	}
	return single(ctx, rec, "copy", []vk.Access{vk.Read, vk.Write}, (n+3)/4, []uint32{uint32(n)}, []vk.Range{x, y})
}

// Scale records y[i] = alpha*x[i] for i < n.
func Scale(ctx *vk.Context, rec *vk.Recording, x, y vk.Range, n int, alpha float32) error {
	return elementwise(ctx, rec, "scale", []vk.Access{vk.Read, vk.Write}, n, []vk.Range{x, y}, nil, []uint32{math.Float32bits(alpha)})
}

// Add records z[i] = x[i] + y[i] for i < n.
func Add(ctx *vk.Context, rec *vk.Recording, x, y, z vk.Range, n int) error {
	return elementwise(ctx, rec, "add", []vk.Access{vk.Read, vk.Read, vk.Write}, n, []vk.Range{x, y, z}, nil, nil)
}

// Augment records the gather-and-warp of a batch: sample s of out (28x28
// float32 pixels in [0, 1]) is image order[first+s] of images (uint8,
// 784 bytes an image) sampled through affines[6s:6s+6] as s says.
func Augment(ctx *vk.Context, rec *vk.Recording, images, order vk.Range, first int, affines, out vk.Range, batch int, s augment.Sampling) error {
	const pixels = 28 * 28
	if batch <= 0 || first < 0 {
		return fmt.Errorf("augment: batch %d from %d", batch, first)
	}
	checks := []struct {
		name  string
		r     vk.Range
		bytes int64
	}{{"order", order, 4 * int64(first+batch)}, {"affines", affines, 4 * 6 * int64(batch)}, {"out", out, 4 * pixels * int64(batch)}, {"images", images, pixels}}
	for _, c := range checks {
		if c.r.Buf == nil || c.r.Buf.Size()-c.r.Offset < c.bytes {
			return fmt.Errorf("augment: %s needs %d bytes", c.name, c.bytes)
		}
	}
	return single(ctx, rec, "augment", []vk.Access{vk.Read, vk.Read, vk.Read, vk.Write}, pixels*batch,
		[]uint32{uint32(pixels * batch), uint32(first), boolWord(s.Fill == augment.Constant), boolWord(s.Interp == augment.Bilinear)}, []vk.Range{images, order, affines, out})
}
