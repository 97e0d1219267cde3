package kernels

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vkcnn/vkcnn/vk"
)

// Product is one GEMM-shaped kernel launch of a model: a plain GEMM
// (Gemm), or a pass of a convolution (ConvProduct). Tuning chooses how
// each runs by its Key; Check is the one answer to which choices a device
// runs it with.
type Product interface {
	// Key names the product's shape: equal keys run the same dispatches.
	Key() string
	// FLOPs is the product's floating-point operations.
	FLOPs() float64
	// ArgFloats is the size of each argument RecordArgs takes on a device,
	// in floats; the last is the output.
	ArgFloats(info vk.DeviceInfo) []int
	// Scratch is the scratch the product needs on a device, in floats.
	Scratch(info vk.DeviceInfo) int
	// RecordArgs records the product on args (as ArgFloats lists them).
	// Where it adds a bias, the bias is the start of the second argument:
	// timing does not depend on the values.
	RecordArgs(ctx *vk.Context, rec *vk.Recording, args []vk.Range) error
	// Choice is how the product runs.
	Choice() Choice
	// With returns the product run as ch says.
	With(ch Choice) Product

	// shape is M, N and K of the product as a GEMM.
	shape() (m, n, k int)
	// vec4Lengths are the lengths the warp kernels read and write along
	// by vec4s: A's and B's contiguous lengths and C's rows; a
	// convolution's channels.
	vec4Lengths() []length
	// plain says the product is a plain GEMM: GemmOnly variants run it,
	// and its sum over k may be split by choice (a convolution's kernel
	// gradient splits by its shape alone).
	plain() bool
	// shader is the product's pipeline as it runs unsplit or with its sum
	// over k split.
	shader(info vk.DeviceInfo, split bool) shader
	// fits says why the product cannot be split so that every binding
	// stays within the device's storage-buffer range (nil where it can).
	fits(info vk.DeviceInfo) error
}

// Fits reports whether p, as chosen to run, can be recorded within the
// device's storage-buffer range, split as the kernels split it, and a
// *RangeError where not.
func Fits(info vk.DeviceInfo, p Product) error { return p.fits(info) }

// length is one of a product's lengths, named for errors.
type length struct {
	name string
	n    int
}

// Choice is how a product runs: its variant, its precision and, for a
// plain GEMM, the split of its sum over k (1: none).
type Choice struct {
	Variant   GemmVariant
	Split     int
	Precision Precision
}

// String is the choice as the tuning cache and run folders keep it:
// "warp64", "warp64 split 8", "coopmat128 bf16x3 split 4" (fp32 goes
// unsaid: the choices of run folders from before precisions read so).
func (c Choice) String() string {
	s := c.Variant.Name
	if c.Precision != FP32 {
		s += " " + c.Precision.String()
	}
	if c.Split > 1 {
		s += fmt.Sprintf(" split %d", c.Split)
	}
	return s
}

// ParseChoice reads a Choice written by String. Whether it runs a
// product is Check's to say.
func ParseChoice(s string) (Choice, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("kernel choice %q is not a variant, its precision (unless fp32) and \"split N\" (unless 1)", s)
	if len(f) == 0 {
		return Choice{}, bad
	}
	v, err := GemmVariantByName(f[0])
	if err != nil {
		return Choice{}, err
	}
	c := Choice{Variant: v, Split: 1}
	f = f[1:]
	if len(f)%2 == 1 {
		if c.Precision, err = ParsePrecision(f[0]); err != nil || c.Precision == FP32 {
			return Choice{}, bad
		}
		f = f[1:]
	}
	switch {
	case len(f) == 2 && f[0] == "split":
		if c.Split, err = strconv.Atoi(f[1]); err != nil || c.Split < 1 {
			return Choice{}, fmt.Errorf("kernel choice %q: the split must be a positive integer", s)
		}
	case len(f) != 0:
		return Choice{}, bad
	}
	return c, nil
}

// Check reports whether the device runs p as ch says, and why not: the
// device runs the variant at the precision (usable: the matrix variants
// run bf16 and bf16x3, the others fp32); a GemmOnly variant runs no
// convolution; the warp and matrix kernels read and write only vec4s,
// with no element-by-element paths (which took a third of the warp
// kernels' instructions), so the lengths they read and write along must
// be multiples of 4 (products that are not, a first layer of one channel
// or ten classes, are small and run on another style, in fp32); and only
// they split a plain GEMM's sum over k.
func Check(info vk.DeviceInfo, p Product, ch Choice) error { return check(info, p, ch, false) }

// check is Check; compile allows a matrix instance the device compiles
// but does not run (Pipelines).
func check(info vk.DeviceInfo, p Product, ch Choice, compile bool) error {
	v := ch.Variant
	if err := v.usable(info, ch.Precision, compile); err != nil {
		return err
	}
	if v.GemmOnly && !p.plain() {
		return fmt.Errorf("GEMM variant %s runs plain products only, not %s", v.Name, p.Key())
	}
	if v.staged() {
		for _, l := range p.vec4Lengths() {
			if l.n%4 != 0 {
				return fmt.Errorf("GEMM variant %s reads and writes by vec4s: %s has %s %d, not a multiple of 4", v.Name, p.Key(), l.name, l.n)
			}
		}
	}
	if ch.Split > 1 && (!v.staged() || !p.plain()) {
		return fmt.Errorf("%s cannot split %s's sum over k (warp and matrix variants split plain GEMMs)", ch, p.Key())
	}
	return nil
}

// Refused says, a variant each, why the device runs none of the variants
// of a precision's family that it refuses (the matrix variants at bf16
// and bf16x3, the others at fp32): a subgroup size it cannot give, a tile
// past its limits, no cooperative matrices.
func Refused(info vk.DeviceInfo, prec Precision) []string {
	var out []string
	for _, v := range GemmVariants {
		if v.Style.matrix() != prec.matrix() {
			continue
		}
		if err := v.usable(info, prec, false); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// For is the choice of variant v at precision prec for p on the device:
// v with the split of k it makes by default (defaultSplit), or why the
// device cannot run it.
func For(info vk.DeviceInfo, p Product, v GemmVariant, prec Precision) (Choice, error) {
	ch := Choice{Variant: v, Split: defaultSplit(info, v, prec, p), Precision: prec}
	return ch, Check(info, p, ch)
}

// Default is the built-in choice for a product on a device at a
// precision, where no tuning says otherwise. At bf16 and bf16x3, the
// largest matrix tile that runs the product and that its m and n fill
// (rounded up to 64: a dense layer's 64 rows fill only the 64-row tile),
// else the largest that runs it, split as For splits it; where none does
// (lengths not multiples of 4), or at fp32: on CPUs that
// can run it, the subgroup kernel with the largest tile that the
// product's m and n fill well; on GPUs the largest warp tile
// (GemmVariants lists them largest first) that runs the product, its sum
// over k split where its tiles are too few to fill the device
// (defaultSplit), else the largest tiled one. On an H100 tuning chose
// warp128 or warp64x128, a few percent apart, for every large product of
// the standard model.
func Default(info vk.DeviceInfo, p Product, prec Precision) Choice {
	m, n, _ := p.shape()
	if prec.matrix() {
		var runs []Choice
		for _, v := range GemmVariants {
			if ch, err := For(info, p, v, prec); v.Style.matrix() && err == nil {
				runs = append(runs, ch)
			}
		}
		for _, ch := range runs {
			if rows, cols := ch.Variant.tile(); int(rows) <= (m+63)/64*64 && int(cols) <= (n+63)/64*64 {
				return ch
			}
		}
		if len(runs) > 0 {
			return runs[0]
		}
	}
	if info.Type == "CPU" {
		rows, cols := uint32(16), uint32(64)
		switch {
		case m >= 1024:
			rows = 64
		case m >= 128:
			rows = 32
		}
		if n <= 32 {
			cols = 32
		}
		// Tall products 16 wide, and plain GEMMs 32 wide, ran faster in
		// tiles of 16 rows on lavapipe: 20-30% less CPU time at resnet20's
		// 16-channel convolutions and strided (im2col) products, where 64
		// rows hold more accumulators than the vector registers do. A
		// gathering convolution 32 wide ran as fast or faster in 64.
		if _, gemm := p.(Gemm); m >= 1024 && (n <= 16 || n <= 32 && gemm) {
			rows = 16
		}
		for _, v := range GemmVariants {
			if v.Style == Subgroup && v.Rows == rows && v.Cols == cols {
				if ch, err := For(info, p, v, FP32); err == nil {
					return ch
				}
			}
		}
	}
	for _, style := range []GemmStyle{Warp, Tiled, Subgroup} {
		for _, v := range GemmVariants {
			if v.Style != style {
				continue
			}
			if ch, err := For(info, p, v, FP32); err == nil {
				return ch
			}
		}
	}
	return Choice{Variant: GemmVariants[0], Split: 1}
}

// Choices are the choices the device runs p with at a precision, for the
// tuner to try: the built-in one first, then every variant that runs p at
// the default's precision (fp32 where no matrix variant runs p) with its
// default split, and for a split plain GEMM, half, twice and four times
// that split and none, keeping at least 256 of k a layer.
func Choices(info vk.DeviceInfo, p Product, prec Precision) []Choice {
	def := Default(info, p, prec)
	out := []Choice{def}
	_, _, k := p.shape()
	for _, v := range GemmVariants {
		d, err := For(info, p, v, def.Precision)
		if err != nil {
			continue
		}
		for _, s := range []int{d.Split, 1, d.Split / 2, d.Split * 2, d.Split * 4} {
			ch := Choice{Variant: v, Split: s, Precision: d.Precision}
			if s >= 1 && (s == d.Split || s*256 <= k) && !slices.Contains(out, ch) && Check(info, p, ch) == nil {
				out = append(out, ch)
			}
		}
	}
	return out
}

// defaultSplit splits a plain GEMM's sum over k with a warp or matrix
// variant so that the device's compute units get about two workgroups
// each where its tiles alone give fewer, keeping at least 256 of k a
// layer.
func defaultSplit(info vk.DeviceInfo, v GemmVariant, prec Precision, p Product) int {
	if Check(info, p, Choice{Variant: v, Split: 2, Precision: prec}) != nil {
		return 1
	}
	m, n, k := p.shape()
	rows, cols := v.tile()
	tiles := ((m + int(rows) - 1) / int(rows)) * ((n + int(cols) - 1) / int(cols))
	want := 2 * computeUnits(info)
	if tiles >= want {
		return 1
	}
	return max(1, min((want+tiles-1)/tiles, k/256))
}

// computeUnits is the device's multiprocessors (NVIDIA) or compute units
// (AMD) where its driver reports them; else 32 for a GPU, a guess between
// integrated and large discrete parts, and 1 for a CPU.
func computeUnits(info vk.DeviceInfo) int {
	switch {
	case info.ComputeUnits > 0:
		return int(info.ComputeUnits)
	case info.Type == "CPU":
		return 1
	}
	return 32
}

// Key names the GEMM's shape.
func (g Gemm) Key() string {
	return fmt.Sprintf("gemm %dx%dx%d tA%v tB%v", g.M, g.N, g.K, g.TransA, g.TransB)
}

// ArgFloats: A, B, the scratch and C.
func (g Gemm) ArgFloats(info vk.DeviceInfo) []int {
	return []int{g.M * g.K, g.K * g.N, max(g.Scratch(info), 1), g.M * g.N}
}

// RecordArgs records the GEMM on A, B, the scratch and C, the
// bias read from B.
func (g Gemm) RecordArgs(ctx *vk.Context, rec *vk.Recording, args []vk.Range) error {
	return g.Record(ctx, rec, GemmArgs{A: args[0], B: args[1], C: args[3], Bias: args[1], Scratch: args[2]})
}

// Choice is the GEMM's variant, split and precision.
func (g Gemm) Choice() Choice {
	return Choice{Variant: g.Variant, Split: max(g.Split, 1), Precision: g.Precision}
}

// With returns the GEMM with the choice's variant, split and precision.
func (g Gemm) With(ch Choice) Product {
	g.Variant, g.Split, g.Precision = ch.Variant, ch.Split, ch.Precision
	return g
}

func (g Gemm) shape() (m, n, k int) { return g.M, g.N, g.K }

func (g Gemm) vec4Lengths() []length {
	a, b := length{"K", g.K}, length{"N", g.N}
	if g.TransA {
		a = length{"M", g.M}
	}
	if g.TransB {
		b = length{"K", g.K}
	}
	return []length{a, b, {"N", g.N}}
}

func (g Gemm) plain() bool { return true }

func (g Gemm) fits(info vk.DeviceInfo) error {
	_, _, err := g.bands(info)
	return err
}

// ConvProduct is one pass of a convolution as a product.
type ConvProduct struct {
	Conv Conv
	Pass ConvPass
}

// Key names the pass's shape.
func (p ConvProduct) Key() string {
	c := p.Conv
	return fmt.Sprintf("conv %s b%d %dx%d %d>%d k%dx%d", p.Pass, c.Batch, c.H, c.W, c.Cin, c.Cout, c.KH, c.KW)
}

// FLOPs is the pass's floating-point operations.
func (p ConvProduct) FLOPs() float64 { return p.Conv.FLOPs() }

// ArgFloats: the pass's inputs, (for the kernel gradient, its scratch)
// and output.
func (p ConvProduct) ArgFloats(info vk.DeviceInfo) []int {
	c := p.Conv
	in, out, w := c.pixels()*c.Cin, c.pixels()*c.Cout, c.KH*c.KW*c.Cin*c.Cout
	switch p.Pass {
	case ConvForward:
		return []int{in, w, out}
	case ConvBackwardData:
		return []int{out, w, in}
	}
	return []int{in, out, max(p.Scratch(info), 1), w}
}

// Scratch is the kernel gradient's (FilterScratch); the other passes need
// none.
func (p ConvProduct) Scratch(info vk.DeviceInfo) int {
	if p.Pass != ConvBackwardFilter {
		return 0
	}
	return p.Conv.FilterScratch(info)
}

// RecordArgs records the pass on ArgFloats' arguments, the forward
// pass's bias read from the kernel.
func (p ConvProduct) RecordArgs(ctx *vk.Context, rec *vk.Recording, args []vk.Range) error {
	c := p.Conv
	switch p.Pass {
	case ConvForward:
		return c.Forward(ctx, rec, args[0], args[1], args[2], args[1])
	case ConvBackwardData:
		return c.BackwardData(ctx, rec, args[0], args[1], args[2])
	}
	return c.BackwardFilter(ctx, rec, args[0], args[1], args[3], args[2])
}

// Choice is the convolution's variant and precision.
func (p ConvProduct) Choice() Choice {
	return Choice{Variant: p.Conv.Variant, Split: 1, Precision: p.Conv.Precision}
}

// With returns the pass with the choice's variant and precision (Check
// refuses a split).
func (p ConvProduct) With(ch Choice) Product {
	p.Conv.Variant, p.Conv.Precision = ch.Variant, ch.Precision
	return p
}

func (p ConvProduct) shape() (m, n, k int) {
	c := p.Conv
	taps := c.KH * c.KW
	switch p.Pass {
	case ConvBackwardFilter:
		return taps * c.Cin, c.Cout, c.pixels()
	case ConvBackwardData:
		return c.pixels(), c.Cin, taps * c.Cout
	}
	return c.pixels(), c.Cout, taps * c.Cin
}

func (p ConvProduct) vec4Lengths() []length {
	return []length{{"Cin", p.Conv.Cin}, {"Cout", p.Conv.Cout}}
}

func (p ConvProduct) plain() bool { return false }

func (p ConvProduct) fits(info vk.DeviceInfo) error { return p.Conv.fits(info, p.Pass) }

func (p ConvProduct) shader(info vk.DeviceInfo, _ bool) shader { return p.Conv.shader(info, p.Pass) }
