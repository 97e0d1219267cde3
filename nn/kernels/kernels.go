// Package kernels records vkcnn's compute shaders: for each one its
// bindings, push constants, specialization and dispatch geometry, declared
// in one place. Layers use these; nothing here calls Vulkan directly.
//
// The GEMM-shaped products (Gemm, ConvProduct) run on a GemmVariant, a
// tile of one GemmStyle. Each style is a file (gemm_subgroup.go,
// gemm_tiled.go, gemm_warp.go, gemm_matrix.go) implementing GemmStyle:
// its shader suffix and specialization constants, tile, workgroup,
// subgroup and shared memory, the shape rules of its shader body, vec4
// staging (and so splitting k) and precision. Check, Default and the
// products' records ask the style; only Default's order of preference
// names styles.
package kernels

import (
	"errors"
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/shaders"
	"github.com/vkcnn/vkcnn/vk"
)

// elementwiseGroup is the workgroup size of the element-wise kernels.
const elementwiseGroup = 256

// shader is one pipeline as its dispatches build it: the shader, how it
// uses its bindings, its push-constant words and its specialization
// constants. Dispatches and Pipelines (`vkcnn bench shaders`) take it from
// the same place, so the compiler's verdict is on what really runs.
type shader struct {
	name   string
	label  string // what the constants select, e.g. "backward"
	access []vk.Access
	push   int
	spec   []uint32
	// subgroup, where not 0, is the subgroup size the shader depends on,
	// required of its pipeline with full subgroups of workgroup
	// invocations (vk.KernelSpec).
	subgroup, workgroup uint32
}

// kernelSpec is the pipeline's description, with its SPIR-V.
func (s shader) kernelSpec() (vk.KernelSpec, error) {
	code, err := shaders.SPIRV(s.name)
	if err != nil {
		return vk.KernelSpec{}, err
	}
	return vk.KernelSpec{Name: s.name, Code: code, Bindings: s.access, PushWords: s.push, Spec: s.spec,
		Subgroup: s.subgroup, Workgroup: s.workgroup}, nil
}

// kernel builds (or finds in the context's cache) the shader's pipeline.
func (s shader) kernel(ctx *vk.Context) (*vk.Kernel, error) {
	spec, err := s.kernelSpec()
	if err != nil {
		return nil, err
	}
	return ctx.Kernel(spec)
}

// fixedShaders are the pipelines of every kernel but the GEMM-shaped ones,
// as declare registers them.
var fixedShaders []shader

// declare registers a fixed kernel's pipeline: declared once at package
// level, it is what the kernel dispatches and what Pipelines lists.
func declare(s shader) shader {
	fixedShaders = append(fixedShaders, s)
	return s
}

// elementwiseShader is a kernel of elementwise: its first push constant is
// the element count, extraPush follow; its first specialization constant
// is the workgroup size, spec follow.
func elementwiseShader(name, label string, access []vk.Access, extraPush int, spec ...uint32) shader {
	return declare(shader{name: name, label: label, access: access, push: 1 + extraPush, spec: append([]uint32{elementwiseGroup}, spec...)})
}

// groupShader is a kernel with the element-wise workgroup size as its first
// specialization constant, spec following.
func groupShader(name, label string, access []vk.Access, push int, spec ...uint32) shader {
	return declare(shader{name: name, label: label, access: access, push: push, spec: append([]uint32{elementwiseGroup}, spec...)})
}

// The fixed kernels of this file.
var (
	fillShader  = elementwiseShader("fill", "", []vk.Access{vk.Write}, 1)
	copyShader  = groupShader("copy", "", []vk.Access{vk.Read, vk.Write}, 1)
	scaleShader = elementwiseShader("scale", "", []vk.Access{vk.Read, vk.Write}, 1)
	addShader   = elementwiseShader("add", "", []vk.Access{vk.Read, vk.Read, vk.Write}, 0)
)

// maxRangeOverride, when positive, stands in for the device's
// maxStorageBufferRange so tests can exercise chunking on small buffers.
var maxRangeOverride int64

func maxRange(info vk.DeviceInfo) int64 {
	if maxRangeOverride > 0 {
		return maxRangeOverride
	}
	return int64(info.MaxStorageBufferRange)
}

// alignment is the device's storage-buffer offset alignment, at least a
// vec4's.
func alignment(info vk.DeviceInfo) int64 { return max(int64(info.StorageOffsetAlignment), 16) }

// chunkElems is the most float32 elements one binding may span such that
// chunk boundaries keep the device's offset alignment.
func chunkElems(info vk.DeviceInfo) int64 {
	align := alignment(info)
	return (maxRange(info) / align * align) / 4
}

// RangeError is work that cannot be split so that each binding stays
// within the device's storage-buffer range: one item of it (an image, a
// row, a kernel) takes Bytes in one binding.
type RangeError struct {
	What         string
	Bytes, Limit int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("%s takes %s in one binding, past the device's storage-buffer range of %s",
		e.What, numfmt.Bytes(e.Bytes), numfmt.Bytes(e.Limit))
}

// fitsWhole checks that a binding that cannot be split, of bytes, fits
// the device's range.
func fitsWhole(info vk.DeviceInfo, what string, bytes int64) error {
	if limit := maxRange(info); bytes > limit {
		return &RangeError{What: what, Bytes: bytes, Limit: limit}
	}
	return nil
}

// perSlice is how many items each dispatch of a kernel that splits its work
// by items (images, rows) takes, so that every binding that holds
// bytes[i] of each item stays within the device's storage-buffer range
// and starts at an aligned offset: all of them where they fit, else the
// most that do, a multiple of unit items. what names an item for the
// error where not even unit items fit.
func perSlice(info vk.DeviceInfo, what string, items, unit int, bytes ...int64) (int, error) {
	limit := maxRange(info)
	var most int64
	for _, b := range bytes {
		most = max(most, b)
	}
	if int64(items)*most <= limit {
		return items, nil
	}
	align := alignment(info)
	step := int64(unit)
	for _, b := range bytes {
		if b > 0 {
			step = lcm(step, align/gcd(align, b))
		}
	}
	per := limit / most / step * step
	if per == 0 {
		return 0, &RangeError{What: what, Bytes: step * most, Limit: limit}
	}
	return int(per), nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int64) int64 { return a / gcd(a, b) * b }

// eachSlice calls record for slices of per items of items, in order.
func eachSlice(items, per int, record func(first, count int) error) error {
	for first := 0; first < items; first += per {
		if err := record(first, min(per, items-first)); err != nil {
			return err
		}
	}
	return nil
}

// part is the count items from first of r, of bytes each.
func part(r vk.Range, first, count int, bytes int64) vk.Range {
	return vk.Range{Buf: r.Buf, Offset: r.Offset + int64(first)*bytes, Size: int64(count) * bytes}
}

// sliced is an argument of work split into batch slices: a range of
// bytes an image, or, with bytes 0, one bound whole to every slice.
type sliced struct {
	r     vk.Range
	bytes int64
}

// inSlices records work on a batch in slices of images whose arguments
// stay within the device's storage-buffer range: the whole batch where
// they fit. record gets each slice's first image, its count and its
// arguments in order. what names an image for the error where not one
// fits.
func inSlices(info vk.DeviceInfo, what string, batch int, args []sliced, record func(first, count int, args []vk.Range) error) error {
	var bytes []int64
	for _, a := range args {
		bytes = append(bytes, a.bytes)
	}
	per, err := perSlice(info, what, batch, 1, bytes...)
	if err != nil {
		return err
	}
	return eachSlice(batch, per, func(first, count int) error {
		parts := make([]vk.Range, len(args))
		for i, a := range args {
			parts[i] = a.r
			if a.bytes > 0 {
				parts[i] = part(a.r, first, count, a.bytes)
			}
		}
		return record(first, count, parts)
	})
}

// elementwise records a kernel over n float32 elements of every split
// argument, in several dispatches where one binding would exceed the
// device's storage-buffer range; fixed arguments (such as the step buffer)
// are bound whole to each. push follows the element count n (see
// elementwiseShader).
func elementwise(ctx *vk.Context, rec *vk.Recording, s shader, n int, split, fixed []vk.Range, push []uint32) error {
	return elementwiseBy(ctx, rec, s, n, 1, split, fixed, push)
}

// elementwiseBy is elementwise with per elements an invocation (1 or 4:
// chunks keep 16-byte alignment, so vec4 kernels see aligned bindings).
func elementwiseBy(ctx *vk.Context, rec *vk.Recording, s shader, n, per int, split, fixed []vk.Range, push []uint32) error {
	name := s.name
	if n < 0 {
		return fmt.Errorf("%s: negative length %d", name, n)
	}
	for i, a := range split {
		if err := needFloats(fmt.Sprintf("%s argument %d", name, i), a, n); err != nil {
			return err
		}
	}
	k, err := s.kernel(ctx)
	if err != nil {
		return err
	}
	step := chunkElems(ctx.Info)
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
func single(ctx *vk.Context, rec *vk.Recording, s shader, items int, push []uint32, args []vk.Range) error {
	k, err := s.kernel(ctx)
	if err != nil {
		return err
	}
	grid, err := ctx.Grid1D(int64((items + elementwiseGroup - 1) / elementwiseGroup))
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return rec.Dispatch(k, grid, push, args...)
}

// Fill records x[i] = value for i < n.
func Fill(ctx *vk.Context, rec *vk.Recording, x vk.Range, n int, value float32) error {
	return elementwise(ctx, rec, fillShader, n, []vk.Range{x}, nil, []uint32{math.Float32bits(value)})
}

// Copy records y[i] = x[i] for i < n, four floats an invocation, in one
// dispatch: the measure of the device's copy bandwidth.
func Copy(ctx *vk.Context, rec *vk.Recording, x, y vk.Range, n int) error {
	if err := errors.Join(needFloats("copy source", x, n), needFloats("copy destination", y, n)); err != nil {
		return err
	}
	return single(ctx, rec, copyShader, (n+3)/4, []uint32{uint32(n)}, []vk.Range{x, y})
}

// Scale records y[i] = alpha*x[i] for i < n.
func Scale(ctx *vk.Context, rec *vk.Recording, x, y vk.Range, n int, alpha float32) error {
	return elementwise(ctx, rec, scaleShader, n, []vk.Range{x, y}, nil, []uint32{math.Float32bits(alpha)})
}

// Add records z[i] = x[i] + y[i] for i < n.
func Add(ctx *vk.Context, rec *vk.Recording, x, y, z vk.Range, n int) error {
	return elementwise(ctx, rec, addShader, n, []vk.Range{x, y, z}, nil, nil)
}

// augmentPieces is how many bindings augment.comp reads the data set
// through.
const augmentPieces = 4

// augmentShader is augment.comp's pipeline for images of geometry g: the
// data set's pieces, the batch order, the affines and the output;
// normalize sets NORMALIZE. Its push constants are five words, then
// augment.MaxNormalizedChannels means and as many inverse deviations.
func augmentShader(g augment.Geometry, normalize bool) shader {
	access := []vk.Access{vk.Read, vk.Read, vk.Read, vk.Read, vk.Read, vk.Read, vk.Write}
	label := g.String()
	if normalize {
		label += " normalized"
	}
	return shader{name: "augment", label: label, access: access, push: 5 + 2*augment.MaxNormalizedChannels,
		spec: []uint32{elementwiseGroup, uint32(g.Width), uint32(g.Height), uint32(g.Channels), boolWord(normalize)}}
}

// perPiece is how many images each of the data set's bindings holds in
// augment.comp: all n where they fit the device's storage-buffer range.
func perPiece(info vk.DeviceInfo, n int, g augment.Geometry) (int, error) {
	bytes := int64(g.Values())
	per, err := perSlice(info, fmt.Sprintf("one %v image", g), n, 1, bytes)
	if err != nil {
		return 0, err
	}
	if (n+per-1)/per > augmentPieces {
		return 0, fmt.Errorf("a data set of %s %v images (%s) takes more than %d bindings of the device's storage-buffer range of %s",
			numfmt.Commas(n), g, numfmt.Bytes(int64(n)*bytes), augmentPieces, numfmt.Bytes(maxRange(info)))
	}
	return per, nil
}

// CheckDataSet reports whether Augment can read a data set of n images
// of geometry g on the device.
func CheckDataSet(info vk.DeviceInfo, n int, g augment.Geometry) error {
	_, err := perPiece(info, n, g)
	return err
}

// AugmentArgs are what Augment reads and writes: sample s of Out is image
// Order[First+s] of Images (N images of geometry Geometry, a byte a
// value) sampled through Affines[6s:6s+6], for Batch samples.
type AugmentArgs struct {
	Images       vk.Range
	N            int
	Geometry     augment.Geometry
	Order        vk.Range // uint32 indices into Images
	First        int
	Affines, Out vk.Range
	Batch        int
	Sampling     augment.Sampling
	Norm         *augment.Normalization // nil: not normalized
}

// Augment records the gather-and-warp of a batch: sample s of a.Out
// (float32 values in [0, 1], HWC, then normalized where a.Norm is not nil)
// is image a.Order[a.First+s] of a.Images sampled through
// a.Affines[6s:6s+6] as a.Sampling says. The data set is bound in pieces,
// and the batch recorded in slices, within the device's storage-buffer
// range.
func Augment(ctx *vk.Context, rec *vk.Recording, a AugmentArgs) error {
	n, g, first, batch := a.N, a.Geometry, a.First, a.Batch
	values := g.Values()
	if batch <= 0 || first < 0 || values <= 0 || n <= 0 {
		return fmt.Errorf("augment: batch %d from %d of %d %v images", batch, first, n, g)
	}
	push := make([]uint32, 2*augment.MaxNormalizedChannels)
	if a.Norm != nil {
		if err := a.Norm.Check(g.Channels); err != nil {
			return fmt.Errorf("augment: %w", err)
		}
		for c, inv := range a.Norm.InvStd() {
			push[c], push[augment.MaxNormalizedChannels+c] = math.Float32bits(a.Norm.Mean[c]), math.Float32bits(inv)
		}
	}
	if err := errors.Join(needRange("augment images", a.Images, int64(n*values), 1, "bytes"), needRange("augment order", a.Order, int64(first+batch), 4, "indices"),
		needFloats("augment affines", a.Affines, 6*batch), needFloats("augment output", a.Out, values*batch)); err != nil {
		return err
	}
	per, err := perPiece(ctx.Info, n, g)
	if err != nil {
		return err
	}
	args := make([]sliced, augmentPieces)
	for k := range args {
		first := min(k*per, n-1) / per * per // pieces past the data bind the last
		args[k] = sliced{part(a.Images, first, min(per, n-first), int64(values)), 0}
	}
	args = append(args, sliced{a.Order, 0}, sliced{a.Affines, 6 * 4}, sliced{a.Out, 4 * int64(values)})
	sh := augmentShader(g, a.Norm != nil)
	return inSlices(ctx.Info, fmt.Sprintf("one augmented %v image", g), batch, args, func(slice, count int, args []vk.Range) error {
		return single(ctx, rec, sh, values*count,
			append([]uint32{uint32(values * count), uint32(first + slice), boolWord(a.Sampling.Fill == augment.Constant), boolWord(a.Sampling.Interp == augment.Bilinear), uint32(per)}, push...), args)
	})
}
