package kernels

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vkcnn/vkcnn/vk"
)

// GemmStyle is a family of GEMM kernels: one shader body, the rules its
// tiles obey and the specialization constants that select them. Each
// style is a file of its own (gemm_subgroup.go, gemm_tiled.go,
// gemm_warp.go, gemm_matrix.go), and a variant's Style alone answers for
// it: nothing else in the package asks which style a variant is, beyond
// Default's order of preference.
type GemmStyle interface {
	// String is the style's name, its shaders' suffix.
	String() string
	// matrix says the style runs the matrix precisions (bf16 and bf16x3)
	// on cooperative matrices; the others compute in fp32.
	matrix() bool
	// staged says the style stages its operands by vec4 slots
	// (stage_tile.glsl): it reads and writes only vec4s, and may split a
	// plain GEMM's sum over k.
	staged() bool
	// check says why the device cannot run v's tile (nil where it can),
	// with the matrix instance v runs on; compile as usable.
	check(v GemmVariant, info vk.DeviceInfo, compile bool) (matrixInstance, error)
	// tile is the tile of C a workgroup computes.
	tile(v GemmVariant) (rows, cols uint32)
	// workgroup is the invocations of a workgroup (on inst).
	workgroup(v GemmVariant, inst matrixInstance) uint32
	// subgroup is the subgroup size the shader depends on (on inst), with
	// the invocations of its workgroup; none (0) where it uses none.
	subgroup(v GemmVariant, inst matrixInstance) (lanes, invocations uint32)
	// sharedBytes is the shared memory the shader declares at a precision.
	sharedBytes(v GemmVariant, inst matrixInstance, prec Precision) uint32
	// specialize is the shader's suffix (with a matrix instance's) and its
	// specialization constants around the including shader's flags (at
	// most four), with the instance.
	specialize(v GemmVariant, info vk.DeviceInfo, prec Precision, flags []uint32) (suffix string, spec []uint32, inst matrixInstance)
}

// The styles, each described in its file.
var (
	// Subgroup: one 8-lane subgroup a workgroup, no shared memory (for
	// lavapipe).
	Subgroup GemmStyle = subgroupStyle{}
	// Tiled: the textbook shared-memory tiles.
	Tiled GemmStyle = tiledStyle{}
	// Warp: warp tiles of 4x4 register blocks (the GPU kernels).
	Warp GemmStyle = warpStyle{}
	// Matrix: cooperative matrices, or their emulation (bf16, bf16x3).
	Matrix GemmStyle = matrixStyle{}
)

// GemmVariant is one SGEMM kernel with its tile sizes. Lavapipe and GPUs
// want opposite shapes: few wide loads and no barriers on a CPU, shared
// memory tiles and many invocations on a GPU.
type GemmVariant struct {
	Name  string
	Style GemmStyle
	// Subgroup: the tile of C, Rows x Cols.
	Rows, Cols uint32
	// Tiled, warp and matrix: the shared-memory tile of C (BM x BN) and
	// its depth BK. Tiled: the block of C each invocation computes (TM x
	// TN). Warp: the warp tile (WM x WN) and the 4x4 blocks each
	// invocation holds in it (WMIter x WNIter). Matrix: the warp tile, a
	// subgroup's, in fragments of the device's shape.
	BM, BN, BK, TM, TN     uint32
	WM, WN, WMIter, WNIter uint32
	// GemmOnly variants run plain GEMMs (the dense layers), no
	// convolution (Check).
	GemmOnly bool
}

// GemmVariants lists every variant; Check says which a device runs a
// product with.
var GemmVariants = []GemmVariant{
	{Name: "subgroup16", Style: Subgroup, Rows: 16, Cols: 64},
	{Name: "subgroup32", Style: Subgroup, Rows: 32, Cols: 64},
	{Name: "subgroup64", Style: Subgroup, Rows: 64, Cols: 64},
	{Name: "subgroup16x32", Style: Subgroup, Rows: 16, Cols: 32},
	{Name: "subgroup32x32", Style: Subgroup, Rows: 32, Cols: 32},
	{Name: "subgroup64x32", Style: Subgroup, Rows: 64, Cols: 32},
	{Name: "tiled64", Style: Tiled, BM: 64, BN: 64, BK: 16, TM: 4, TN: 4},
	{Name: "tiled128", Style: Tiled, BM: 128, BN: 128, BK: 8, TM: 8, TN: 8},
	// The warp tiles all hold 2x2 blocks of 4x4 an invocation (8x8
	// outputs): with one block of rows an H100 ran 16x slower (see
	// warp_tile.glsl), and with 8x4 the FMAs of the RDNA3 code fell under
	// half its instructions. Large products: 256 invocations, 43.5
	// TFLOPS at 4096^3 on an H100.
	{Name: "warp128", Style: Warp, BM: 128, BN: 128, BK: 16, WM: 64, WN: 32, WMIter: 2, WNIter: 2},
	// Medium ones: 128 invocations.
	{Name: "warp64x128", Style: Warp, BM: 64, BN: 128, BK: 16, WM: 32, WN: 64, WMIter: 2, WNIter: 2},
	// Dense layers (64 rows, a long k, split): 64 invocations. Its tile is
	// too small for a convolution's gathers (47% of its RDNA3
	// instructions FMAs), and warp128 was faster at every convolution
	// pass of the standard model on an H100. dense_1's forward product
	// split 44 ways took 160 µs there, against 240 µs for warp128.
	{Name: "warp64", Style: Warp, BM: 64, BN: 64, BK: 16, WM: 32, WN: 32, WMIter: 2, WNIter: 2, GemmOnly: true},
	// The matrix kernels: eight subgroups of 4x2 fragments of 16x16, and
	// four of 2x2 (the dense layers' products, and bf16x3 on lavapipe's
	// 32 KiB of shared memory).
	{Name: "coopmat128", Style: Matrix, BM: 128, BN: 128, BK: 32, WM: 64, WN: 32},
	{Name: "coopmat64", Style: Matrix, BM: 64, BN: 64, BK: 32, WM: 32, WN: 32},
	// Sixteen subgroups of 16x16: with 8-lane subgroups and fragments of
	// 8x8 (lavapipe's fp16 matrices), where coopmat64's four subgroups
	// would each fetch 16 vec4s a K-step.
	{Name: "coopmat64x16", Style: Matrix, BM: 64, BN: 64, BK: 32, WM: 16, WN: 16},
}

// usable reports whether the device can run the variant at a precision,
// and why not; compile allows a matrix instance the device compiles but
// does not run (instance).
func (v GemmVariant) usable(info vk.DeviceInfo, prec Precision, compile bool) error {
	switch {
	case v.Style.matrix() && !prec.matrix():
		return fmt.Errorf("GEMM variant %s runs the bf16 and bf16x3 precisions, not %s", v.Name, prec)
	case !v.Style.matrix() && prec.matrix():
		return fmt.Errorf("GEMM variant %s computes in fp32; %s runs on the cooperative-matrix variants", v.Name, prec)
	}
	inst, err := v.Style.check(v, info, compile)
	if err != nil {
		return err
	}
	wg := v.workgroup(inst)
	if wg > info.MaxWorkgroupInvocations || wg > info.MaxWorkgroupSize[0] {
		return fmt.Errorf("GEMM variant %s needs %d invocations a workgroup, the device allows %d", v.Name, wg, info.MaxWorkgroupInvocations)
	}
	if shared := v.sharedBytes(inst, prec); shared > info.SharedMemoryBytes {
		return fmt.Errorf("GEMM variant %s needs %d bytes of shared memory at %s, the device has %d", v.Name, shared, prec, info.SharedMemoryBytes)
	}
	return nil
}

// stage_tile.glsl's vec4 slots an invocation (MAX_VECS).
const warpMaxVecs = 4

// stagingShape checks what stage_tile.glsl and the operand loaders assume
// of a tile staged by wg invocations: whole warp tiles, a depth that
// divides a split's layers (splitDepth), each invocation fetching whole
// vec4s and no more than its registers hold, and the convolution gathers'
// shared taps.
func (v GemmVariant) stagingShape(wg uint32) error {
	if v.BM == 0 || v.BN == 0 || v.WM == 0 || v.WN == 0 || v.BM%v.WM != 0 || v.BN%v.WN != 0 {
		return fmt.Errorf("warp tiles of %dx%d do not divide a tile of %dx%d", v.WM, v.WN, v.BM, v.BN)
	}
	if v.BK == 0 || v.BK%4 != 0 || 64%v.BK != 0 {
		return fmt.Errorf("a depth of %d; it must be 4, 8, 16, 32 or 64", v.BK)
	}
	// The convolution gathers share a tap between an invocation's slots
	// (conv_rows_warp_a.glsl, conv_bwd_filter_warp_a.glsl).
	if wg%(v.BK/4) != 0 || wg%(v.BM/4) != 0 {
		return fmt.Errorf("%d invocations do not divide by a tile's %d vec4s of k or %d of rows", wg, v.BK/4, v.BM/4)
	}
	for _, vecs := range []uint32{v.BM * v.BK / 4, v.BN * v.BK / 4} {
		if vecs%wg != 0 || vecs/wg == 0 || vecs/wg > warpMaxVecs {
			return fmt.Errorf("%d vec4s of a tile over %d invocations; each must fetch 1 to %d", vecs, wg, warpMaxVecs)
		}
	}
	return nil
}

// The variant's style's answers.

func (v GemmVariant) staged() bool { return v.Style.staged() }

func (v GemmVariant) tile() (rows, cols uint32) { return v.Style.tile(v) }

func (v GemmVariant) workgroup(inst matrixInstance) uint32 { return v.Style.workgroup(v, inst) }

func (v GemmVariant) subgroup(inst matrixInstance) (lanes, invocations uint32) {
	return v.Style.subgroup(v, inst)
}

func (v GemmVariant) sharedBytes(inst matrixInstance, prec Precision) uint32 {
	return v.Style.sharedBytes(v, inst, prec)
}

func (v GemmVariant) specialize(info vk.DeviceInfo, prec Precision, flags ...uint32) (suffix string, spec []uint32, inst matrixInstance) {
	return v.Style.specialize(v, info, prec, flags)
}

// warps is the warp tiles of a workgroup's tile (warp and matrix
// variants).
func (v GemmVariant) warps() uint32 { return (v.BM / v.WM) * (v.BN / v.WN) }

// tileSpec is the constants of a shared-memory tile's body: its five tile
// sizes at ids 0-4, the including shader's flags from id 5, padded to
// four, then the style's own from id 9.
func tileSpec(tile [5]uint32, flags []uint32, own ...uint32) []uint32 {
	spec := append(tile[:], flags...)
	spec = append(spec, make([]uint32, 4-len(flags))...)
	return append(spec, own...)
}

// GemmVariantByName finds a variant.
func GemmVariantByName(name string) (GemmVariant, error) {
	names := make([]string, len(GemmVariants))
	for i, v := range GemmVariants {
		if v.Name == name {
			return v, nil
		}
		names[i] = v.Name
	}
	return GemmVariant{}, fmt.Errorf("unknown GEMM variant %q (variants: %s)", name, strings.Join(names, ", "))
}

// ParseWarpVariant reads a warp variant of any tile, written
// BMxBNxBK/WMxWN/WMIxWNI (warp128 is 128x128x16/64x32/2x2), for timing
// tiles that GemmVariants does not list. Check checks the shape.
func ParseWarpVariant(tile string) (GemmVariant, error) {
	const form = "%dx%dx%d/%dx%d/%dx%d"
	v := GemmVariant{Name: tile, Style: Warp}
	if _, err := fmt.Sscanf(tile, form, &v.BM, &v.BN, &v.BK, &v.WM, &v.WN, &v.WMIter, &v.WNIter); err != nil ||
		fmt.Sprintf(form, v.BM, v.BN, v.BK, v.WM, v.WN, v.WMIter, v.WNIter) != tile {
		return GemmVariant{}, fmt.Errorf("warp tile %q is not BMxBNxBK/WMxWN/WMIxWNI, such as 128x128x16/64x32/2x2", tile)
	}
	return v, nil
}

// Gemm is C = op(A)*op(B) (+ bias[n]) (ReLU) on row-major float32
// matrices: C is M x N, A is M x K (K x M with TransA), B is K x N (N x K
// with TransB), bias has N elements.
type Gemm struct {
	M, N, K        int
	TransA, TransB bool
	Bias, ReLU     bool
	Variant        GemmVariant
	// Precision is the variant's arithmetic: fp32, or bf16 or bf16x3 on
	// the matrix variants.
	Precision Precision
	// Split, above 1, sums k in up to that many workgroup layers (warp and
	// matrix variants only), each writing a partial C to scratch (Scratch
	// floats); they are then added in order, with the bias and ReLU:
	// deterministic, with no float atomics. A product of few tiles needs
	// it to fill a GPU.
	Split int
}

// splitDepth is how much of k one layer of a split sums: a multiple of
// every variant's depth.
func splitDepth(k, split int) int {
	per := (k + max(split, 1) - 1) / max(split, 1)
	return (per + 63) / 64 * 64
}

// layers is the number of workgroup layers the product's k is split into.
func (g Gemm) layers() int {
	if g.Split <= 1 {
		return 1
	}
	per := splitDepth(g.K, g.Split)
	return (g.K + per - 1) / per
}

// Scratch is the scratch Record needs on the device, in floats: the
// partial products of a split k, and where the transposed A passes the
// device's storage-buffer range, the product of a slice of k to add to
// those of the slices before, first.
func (g Gemm) Scratch(info vk.DeviceInfo) int {
	layers := g.layers()
	if kPer, err := g.kSlice(info); err == nil && kPer < g.K {
		return g.sumFloats(info) + max(g.Split, 1)*g.M*g.N
	}
	if layers > 1 {
		return layers * g.M * g.N
	}
	return 0
}

// sumFloats is the scratch that holds a slice of k's product, the split
// scratch starting past it at an aligned offset.
func (g Gemm) sumFloats(info vk.DeviceInfo) int {
	floats := alignment(info) / 4
	return int((int64(g.M*g.N) + floats - 1) / floats * floats)
}

// kSlice is how many of k each slice of a product with A transposed sums:
// all of k where the transposed A fits the device's storage-buffer range,
// else the most rows of A that do. The slices' products are added in
// order, which only a product without bias and ReLU allows.
func (g Gemm) kSlice(info vk.DeviceInfo) (int, error) {
	what := fmt.Sprintf("a row of the transposed A of gemm %dx%dx%d", g.M, g.N, g.K)
	if !g.TransA || 4*int64(g.K)*int64(g.M) <= maxRange(info) {
		return g.K, nil
	}
	if g.TransB || g.Bias || g.ReLU {
		return 0, fitsWhole(info, fmt.Sprintf("the transposed A of gemm %dx%dx%d (with B transposed, a bias or ReLU)", g.M, g.N, g.K), 4*int64(g.K)*int64(g.M))
	}
	return perSlice(info, what, g.K, 1, 4*int64(g.M), 4*int64(g.N))
}

func boolWord(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// FLOPs is the number of floating-point operations of one product.
func (g Gemm) FLOPs() float64 { return 2 * float64(g.M) * float64(g.N) * float64(g.K) }

// GemmArgs are the matrices a Gemm reads and writes: C = op(A)*op(B)
// (+ Bias), with its Scratch.
type GemmArgs struct {
	A, B, C       vk.Range
	Bias, Scratch vk.Range
}

// Record adds the product to rec. The bias is ignored unless g.Bias, the
// scratch unless g.Scratch says it is needed. Where A and C would pass the
// device's storage-buffer range, the product is split into bands of rows;
// where a transposed A would, into slices of k whose products are added in
// order.
func (g Gemm) Record(ctx *vk.Context, rec *vk.Recording, r GemmArgs) error {
	a, b, c, bias, scratch := r.A, r.B, r.C, r.Bias, r.Scratch
	if g.M <= 0 || g.N <= 0 || g.K <= 0 {
		return fmt.Errorf("gemm: dimensions %dx%dx%d must be positive", g.M, g.N, g.K)
	}
	if err := Check(ctx.Info, g, g.Choice()); err != nil {
		return err
	}
	what := fmt.Sprintf("gemm %dx%dx%d", g.M, g.N, g.K)
	need := []error{needFloats(what+" A", a, g.M*g.K), needFloats(what+" B", b, g.K*g.N), needFloats(what+" C", c, g.M*g.N)}
	if g.Bias {
		need = append(need, needFloats(what+" bias", bias, g.N))
	}
	if n := g.Scratch(ctx.Info); n > 0 {
		need = append(need, needFloats(what+" scratch", scratch, n))
	}
	if err := errors.Join(need...); err != nil {
		return err
	}
	rows, kPer, err := g.bands(ctx.Info)
	if err != nil {
		return err
	}
	if kPer == g.K {
		return g.recordRows(ctx, rec, rows, r)
	}
	sum := vk.Range{Buf: scratch.Buf, Offset: scratch.Offset, Size: 4 * int64(g.M*g.N)}
	split := vk.Range{Buf: scratch.Buf, Offset: scratch.Offset + 4*int64(g.sumFloats(ctx.Info))}
	return eachSlice(g.K, kPer, func(first, count int) error {
		s := g
		s.K = count
		a, b := part(a, first, count, 4*int64(g.M)), part(b, first, count, 4*int64(g.N))
		if first == 0 {
			return s.recordRows(ctx, rec, rows, GemmArgs{A: a, B: b, C: c, Bias: bias, Scratch: split})
		}
		if err := s.recordRows(ctx, rec, rows, GemmArgs{A: a, B: b, C: sum, Bias: bias, Scratch: split}); err != nil {
			return err
		}
		return Add(ctx, rec, c, sum, c, g.M*g.N)
	})
}

// bands is how the product splits within the device's storage-buffer
// range: the rows of C each band takes (all of them where A is
// transposed: the shader strides it by M) and how much of k each slice
// sums; or why it cannot.
func (g Gemm) bands(info vk.DeviceInfo) (rows, kPer int, err error) {
	what := fmt.Sprintf("gemm %dx%dx%d", g.M, g.N, g.K)
	kPer, err = g.kSlice(info)
	if err != nil {
		return 0, 0, err
	}
	slice := g
	slice.K = kPer
	layers := int64(slice.layers())
	m, n, k := int64(g.M), int64(g.N), int64(kPer)
	if g.TransA {
		rows = g.M
		err = errors.Join(fitsWhole(info, "the transposed A of "+what, 4*k*m),
			fitsWhole(info, "the output of "+what+" with A transposed", 4*layers*m*n))
	} else {
		tileRows, _ := g.Variant.tile()
		rows, err = perSlice(info, "a band of rows of "+what, g.M, int(tileRows), 4*k, 4*layers*n)
	}
	if err := errors.Join(err, fitsWhole(info, "B of "+what, 4*k*n)); err != nil {
		return 0, 0, err
	}
	return rows, kPer, nil
}

// recordRows records the product in bands of rows of A and C.
func (g Gemm) recordRows(ctx *vk.Context, rec *vk.Recording, rows int, r GemmArgs) error {
	a, b, c, bias, scratch := r.A, r.B, r.C, r.Bias, r.Scratch
	layers := g.layers()
	what := fmt.Sprintf("gemm %dx%dx%d", g.M, g.N, g.K)
	k, err := g.shader(ctx.Info, layers > 1).kernel(ctx)
	if err != nil {
		return err
	}
	tileRows, tileCols := g.Variant.tile()
	bRange := vk.Range{Buf: b.Buf, Offset: b.Offset, Size: 4 * int64(g.K) * int64(g.N)}
	return eachSlice(g.M, rows, func(m0, m int) error {
		aBand := part(a, m0, m, 4*int64(g.K))
		if g.TransA {
			aBand = vk.Range{Buf: a.Buf, Offset: a.Offset, Size: 4 * int64(g.M) * int64(g.K)}
		}
		cBand := part(c, m0, m, 4*int64(g.N))
		biasRange := cBand // bound but unused: the binding must hold a buffer
		if g.Bias {
			biasRange = vk.Range{Buf: bias.Buf, Offset: bias.Offset, Size: 4 * int64(g.N)}
		}
		out := cBand
		if layers > 1 {
			out = vk.Range{Buf: scratch.Buf, Offset: scratch.Offset, Size: 4 * int64(layers*m*g.N)}
		}
		grid := [3]uint32{uint32((g.N + int(tileCols) - 1) / int(tileCols)), uint32((m + int(tileRows) - 1) / int(tileRows)), uint32(layers)}
		push := []uint32{uint32(m), uint32(g.N), uint32(g.K)}
		if g.Variant.staged() {
			push = append(push, uint32(splitDepth(g.K, layers)))
		}
		if err := rec.Dispatch(k, grid, push, aBand, bRange, out, biasRange); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if layers > 1 {
			if err := splitSum(ctx, rec, out, cBand, biasRange, m*g.N, g.N, layers, g.Bias, g.ReLU); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		return nil
	})
}

// splitSum records c[i] = sum over layers of part[layer*count + i], in
// layer order, then the bias (by column, of cols) and ReLU.
func splitSum(ctx *vk.Context, rec *vk.Recording, part, c, bias vk.Range, count, cols, layers int, withBias, relu bool) error {
	return single(ctx, rec, splitSumShaders[boolWord(withBias)][boolWord(relu)], count,
		[]uint32{uint32(count), uint32(cols), uint32(layers)}, []vk.Range{part, c, bias})
}

// addSum records c[i] += the sum over layers of part[layer*count + i],
// in layer order: the products of a later slice of k added to those of
// the slices before.
func addSum(ctx *vk.Context, rec *vk.Recording, part, c vk.Range, count, layers int) error {
	return single(ctx, rec, addSumShader, count, []uint32{uint32(count), 1, uint32(layers)}, []vk.Range{part, c, c})
}

var splitSumAccess = []vk.Access{vk.Read, vk.ReadWrite, vk.Read}

// splitSumShaders are splitsum's pipelines by bias and ReLU flag;
// addSumShader adds to what C holds.
var (
	splitSumShaders = func() (s [2][2]shader) {
		for bias := range uint32(2) {
			for relu := range uint32(2) {
				s[bias][relu] = groupShader("splitsum", flagNames([]uint32{bias, relu}, "bias", "relu"), splitSumAccess, 3, bias, relu, 0)
			}
		}
		return s
	}()
	addSumShader = groupShader("splitsum", " accumulate", splitSumAccess, 3, 0, 0, 1)
)

var gemmAccess = []vk.Access{vk.Read, vk.Read, vk.Write, vk.Read}

// shader is the product's pipeline: the variant's style (and precision)
// with the transposition, bias and ReLU flags; a split product leaves the
// bias and ReLU to the sum of its layers.
func (g Gemm) shader(info vk.DeviceInfo, split bool) shader {
	flags := []uint32{boolWord(g.TransA), boolWord(g.TransB), boolWord(g.Bias && !split), boolWord(g.ReLU && !split)}
	style, spec, inst := g.Variant.specialize(info, g.Precision, flags...)
	push := 3
	if g.Variant.staged() {
		push = 4 // and the k of a split's layer
	}
	lanes, wg := g.Variant.subgroup(inst)
	return shader{name: "gemm_" + style, label: g.Variant.label(g.Precision) + flagNames(flags, "transA", "transB", "bias", "relu"), access: gemmAccess, push: push, spec: spec,
		subgroup: lanes, workgroup: wg}
}

// label names the variant at a precision in a pipeline's label: the
// matrix variants run two.
func (v GemmVariant) label(prec Precision) string {
	if v.Style.matrix() {
		return v.Name + " " + prec.String()
	}
	return v.Name
}

// flagNames is " name" for each set flag.
func flagNames(flags []uint32, names ...string) string {
	var b strings.Builder
	for i, f := range flags {
		if f != 0 {
			b.WriteString(" " + names[i])
		}
	}
	return b.String()
}
