package kernels

import (
	"fmt"
	"slices"
	"strings"

	"vkcnn/vk"
)

// GemmVariant is one SGEMM kernel with its tile sizes. Lavapipe and GPUs
// want opposite shapes: few wide loads and no barriers on a CPU, shared
// memory tiles and many invocations on a GPU.
type GemmVariant struct {
	Name string
	// Subgroup marks the 8-lane subgroup-broadcast kernel, with tiles of
	// Rows x Cols.
	Subgroup   bool
	Rows, Cols uint32
	// Shared-memory tile of C (BM x BN), its depth BK and the block of C
	// each invocation computes (TM x TN), for the tiled kernel.
	BM, BN, BK, TM, TN uint32
}

// GemmVariants lists every variant; Usable says which a device can run.
var GemmVariants = []GemmVariant{
	{Name: "subgroup16", Subgroup: true, Rows: 16, Cols: 64},
	{Name: "subgroup32", Subgroup: true, Rows: 32, Cols: 64},
	{Name: "subgroup64", Subgroup: true, Rows: 64, Cols: 64},
	{Name: "subgroup16x32", Subgroup: true, Rows: 16, Cols: 32},
	{Name: "subgroup32x32", Subgroup: true, Rows: 32, Cols: 32},
	{Name: "subgroup64x32", Subgroup: true, Rows: 64, Cols: 32},
	{Name: "tiled64", BM: 64, BN: 64, BK: 16, TM: 4, TN: 4},
	{Name: "tiled128", BM: 128, BN: 128, BK: 8, TM: 8, TN: 8},
}

// Usable reports whether the device can run the variant, and why not.
func (v GemmVariant) Usable(info vk.DeviceInfo) error {
	if v.Subgroup {
		if info.SubgroupSize != 8 || !slices.Contains(info.SubgroupOps, "ballot") {
			return fmt.Errorf("GEMM variant %s needs 8-lane subgroups with broadcast (the device has %d lanes, operations %s)",
				v.Name, info.SubgroupSize, strings.Join(info.SubgroupOps, ","))
		}
		return nil
	}
	wg := v.workgroup()
	if wg > info.MaxWorkgroupInvocations || wg > info.MaxWorkgroupSize[0] {
		return fmt.Errorf("GEMM variant %s needs %d invocations a workgroup, the device allows %d", v.Name, wg, info.MaxWorkgroupInvocations)
	}
	if shared := 4 * (v.BM + v.BN) * v.BK; shared > info.SharedMemoryBytes {
		return fmt.Errorf("GEMM variant %s needs %d bytes of shared memory, the device has %d", v.Name, shared, info.SharedMemoryBytes)
	}
	return nil
}

func (v GemmVariant) workgroup() uint32 { return (v.BM / v.TM) * (v.BN / v.TN) }

func (v GemmVariant) tile() (rows, cols uint32) {
	if v.Subgroup {
		return v.Rows, v.Cols
	}
	return v.BM, v.BN
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

// DefaultGemmVariant is the built-in choice for a device and an m x n
// product, where no tuning says otherwise: on CPUs that can run it, the
// subgroup kernel with the largest tile that m and n fill well; elsewhere
// large shared-memory tiles.
func DefaultGemmVariant(info vk.DeviceInfo, m, n int) GemmVariant {
	if info.Type == "CPU" {
		name := "subgroup16"
		switch {
		case m >= 1024:
			name = "subgroup64"
		case m >= 128:
			name = "subgroup32"
		}
		if n <= 32 {
			name += "x32"
		}
		if v, _ := GemmVariantByName(name); v.Usable(info) == nil {
			return v
		}
	}
	for _, name := range []string{"tiled128", "tiled64"} {
		v, _ := GemmVariantByName(name)
		if v.Usable(info) == nil {
			return v
		}
	}
	v, _ := GemmVariantByName("tiled64")
	return v
}

// Gemm is C = op(A)*op(B) (+ bias[n]) (ReLU) on row-major float32
// matrices: C is M x N, A is M x K (K x M with TransA), B is K x N (N x K
// with TransB), bias has N elements.
type Gemm struct {
	M, N, K        int
	TransA, TransB bool
	Bias, ReLU     bool
	Variant        GemmVariant
}

func boolWord(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// FLOPs is the number of floating-point operations of one product.
func (g Gemm) FLOPs() float64 { return 2 * float64(g.M) * float64(g.N) * float64(g.K) }

// Record adds the product to rec. bias is ignored unless g.Bias. Where A
// and C would exceed the device's storage-buffer range, the product is
// split into bands of rows.
func (g Gemm) Record(ctx *vk.Context, rec *vk.Recording, a, b, c, bias vk.Range) error {
	if g.M <= 0 || g.N <= 0 || g.K <= 0 {
		return fmt.Errorf("gemm: dimensions %dx%dx%d must be positive", g.M, g.N, g.K)
	}
	if err := g.Variant.Usable(ctx.Info); err != nil {
		return err
	}
	need := []struct {
		name  string
		r     vk.Range
		elems int64
	}{{"A", a, int64(g.M) * int64(g.K)}, {"B", b, int64(g.K) * int64(g.N)}, {"C", c, int64(g.M) * int64(g.N)}}
	if g.Bias {
		need = append(need, struct {
			name  string
			r     vk.Range
			elems int64
		}{"bias", bias, int64(g.N)})
	}
	for _, x := range need {
		if x.r.Buf == nil {
			return fmt.Errorf("gemm: no buffer for %s", x.name)
		}
		if have := (x.r.Buf.Size() - x.r.Offset) / 4; have < x.elems || (x.r.Size > 0 && x.r.Size/4 < x.elems) {
			return fmt.Errorf("gemm %dx%dx%d: %s needs %d floats, its range holds fewer", g.M, g.N, g.K, x.name, x.elems)
		}
	}
	k, err := g.shader().kernel(ctx)
	if err != nil {
		return err
	}
	rowBytes := 4 * int64(max(g.K, g.N))
	rows := int64(g.M)
	if limit := maxRange(ctx); rows*rowBytes > limit {
		if g.TransA {
			return fmt.Errorf("gemm %dx%dx%d: transposed A exceeds the device's storage-buffer range of %d bytes", g.M, g.N, g.K, limit)
		}
		tileRows, _ := g.Variant.tile()
		align := max(ctx.Info.StorageOffsetAlignment, 16)
		rows = limit / rowBytes / int64(tileRows) * int64(tileRows)
		for rows > 0 && (rows*4*int64(g.K)%int64(align) != 0 || rows*4*int64(g.N)%int64(align) != 0) {
			rows -= int64(tileRows)
		}
		if rows <= 0 {
			return fmt.Errorf("gemm %dx%dx%d: one band of rows exceeds the device's storage-buffer range of %d bytes", g.M, g.N, g.K, limit)
		}
	}
	for m0 := int64(0); m0 < int64(g.M); m0 += rows {
		m := min(rows, int64(g.M)-m0)
		aBand := vk.Range{Buf: a.Buf, Offset: a.Offset + 4*m0*int64(g.K), Size: 4 * m * int64(g.K)}
		cBand := vk.Range{Buf: c.Buf, Offset: c.Offset + 4*m0*int64(g.N), Size: 4 * m * int64(g.N)}
		if g.TransA {
			aBand = vk.Range{Buf: a.Buf, Offset: a.Offset, Size: 4 * int64(g.M) * int64(g.K)}
		}
		bRange := vk.Range{Buf: b.Buf, Offset: b.Offset, Size: 4 * int64(g.K) * int64(g.N)}
		biasRange := cBand // bound but unused: the binding must hold a buffer
		if g.Bias {
			biasRange = vk.Range{Buf: bias.Buf, Offset: bias.Offset, Size: 4 * int64(g.N)}
		}
		tileRows, tileCols := g.Variant.tile()
		grid := [3]uint32{uint32((g.N + int(tileCols) - 1) / int(tileCols)), uint32((m + int64(tileRows) - 1) / int64(tileRows)), 1}
		push := []uint32{uint32(m), uint32(g.N), uint32(g.K)}
		if err := rec.Dispatch(k, grid, push, aBand, bRange, cBand, biasRange); err != nil {
			return fmt.Errorf("gemm %dx%dx%d: %w", g.M, g.N, g.K, err)
		}
	}
	return nil
}

var gemmAccess = []vk.Access{vk.Read, vk.Read, vk.Write, vk.Read}

// shader is the product's pipeline: the variant's style with the
// transposition, bias and ReLU flags.
func (g Gemm) shader() shader {
	flags := []uint32{boolWord(g.TransA), boolWord(g.TransB), boolWord(g.Bias), boolWord(g.ReLU)}
	style, spec := g.Variant.specialize(flags...)
	return shader{name: "gemm_" + style, label: g.Variant.Name + flagNames(flags, "transA", "transB", "bias", "relu"), access: gemmAccess, push: 3, spec: spec}
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

// specialize returns the shader suffix of the variant's style and its
// specialization constants around the including shader's flags (at most
// four): the subgroup body reads its tile at ids 8 and 9, the tiled body
// its tile at 0-4 and workgroup size at 9, the flags following the tile.
func (v GemmVariant) specialize(flags ...uint32) (style string, spec []uint32) {
	if v.Subgroup {
		spec = append(append(spec, flags...), make([]uint32, 8-len(flags))...)
		return "subgroup", append(spec, v.Rows, v.Cols)
	}
	spec = append([]uint32{v.BM, v.BN, v.BK, v.TM, v.TN}, flags...)
	spec = append(spec, make([]uint32, 4-len(flags))...)
	return "tiled", append(spec, v.workgroup())
}
