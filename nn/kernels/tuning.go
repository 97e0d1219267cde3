package kernels

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"vkcnn/internal/atomicfile"
	"vkcnn/vk"
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

// Product is one GEMM-shaped kernel launch of a model: a plain GEMM, or a
// pass of a convolution. Tuning chooses a variant for each by its Key.
type Product struct {
	Gemm *Gemm
	Conv *Conv
	Pass ConvPass
}

// Key names the product's shape: equal keys run the same dispatches.
func (p Product) Key() string {
	if p.Conv != nil {
		c := p.Conv
		return fmt.Sprintf("conv %s b%d %dx%d %d>%d k%dx%d", p.Pass, c.Batch, c.H, c.W, c.Cin, c.Cout, c.KH, c.KW)
	}
	g := p.Gemm
	return fmt.Sprintf("gemm %dx%dx%d tA%v tB%v", g.M, g.N, g.K, g.TransA, g.TransB)
}

// FLOPs is the product's floating-point operations.
func (p Product) FLOPs() float64 {
	if p.Conv != nil {
		return p.Conv.FLOPs()
	}
	return p.Gemm.FLOPs()
}

// size is M and N of the product as a GEMM: what a tile wastes past.
func (p Product) size() (m, n int) {
	if p.Conv == nil {
		return p.Gemm.M, p.Gemm.N
	}
	c := p.Conv
	switch p.Pass {
	case ConvBackwardFilter:
		return c.KH * c.KW * c.Cin, c.Cout
	case ConvBackwardData:
		return c.pixels(), c.Cin
	}
	return c.pixels(), c.Cout
}

// misaligned names a length of the product that the warp kernels read or
// write along by vec4s and is not a multiple of 4 ("" where none is): A's
// and B's contiguous lengths and C's rows; a convolution's channels.
func (p Product) misaligned() string {
	type length struct {
		name string
		n    int
	}
	var lengths []length
	if c := p.Conv; c != nil {
		lengths = []length{{"Cin", c.Cin}, {"Cout", c.Cout}}
	} else {
		g := p.Gemm
		lengths = []length{{"K", g.K}, {"N", g.N}}
		if g.TransA {
			lengths[0] = length{"M", g.M}
		}
		if g.TransB {
			lengths[1] = length{"K", g.K}
		}
		lengths = append(lengths, length{"N", g.N})
	}
	for _, l := range lengths {
		if l.n%4 != 0 {
			return fmt.Sprintf("%s %d", l.name, l.n)
		}
	}
	return ""
}

// Choice is how a product runs: its variant and, for a plain GEMM, the
// split of its sum over k (1: none).
type Choice struct {
	Variant GemmVariant
	Split   int
}

// String is the choice as the tuning cache and run folders keep it:
// "warp64", or "warp64 split 8".
func (c Choice) String() string {
	if c.Split > 1 {
		return fmt.Sprintf("%s split %d", c.Variant.Name, c.Split)
	}
	return c.Variant.Name
}

// ParseChoice reads a Choice written by String.
func ParseChoice(s string) (Choice, error) {
	f := strings.Fields(s)
	if len(f) != 1 && (len(f) != 3 || f[1] != "split") {
		return Choice{}, fmt.Errorf("kernel choice %q is not a variant, or a variant and \"split N\"", s)
	}
	v, err := GemmVariantByName(f[0])
	if err != nil {
		return Choice{}, err
	}
	c := Choice{Variant: v, Split: 1}
	if len(f) == 3 {
		if c.Split, err = strconv.Atoi(f[2]); err != nil || c.Split < 1 {
			return Choice{}, fmt.Errorf("kernel choice %q: the split must be a positive integer", s)
		}
		if v.Style != Warp && c.Split > 1 {
			return Choice{}, fmt.Errorf("kernel choice %q: only warp variants split k", s)
		}
	}
	return c, nil
}

// Choice is how the product runs.
func (p Product) Choice() Choice {
	if p.Conv != nil {
		return Choice{Variant: p.Conv.Variant, Split: 1}
	}
	return Choice{Variant: p.Gemm.Variant, Split: max(p.Gemm.Split, 1)}
}

// With returns the product run as ch says (a convolution ignores the
// split: its kernel gradient splits by its shape alone).
func (p Product) With(ch Choice) Product {
	if p.Conv != nil {
		c := *p.Conv
		c.Variant = ch.Variant
		p.Conv = &c
	} else {
		g := *p.Gemm
		g.Variant, g.Split = ch.Variant, ch.Split
		p.Gemm = &g
	}
	return p
}

// Splits are the splits of k worth trying for the product with variant v,
// the default first.
func (p Product) Splits(info vk.DeviceInfo, v GemmVariant) []int {
	if p.Gemm == nil || v.Style != Warp {
		return []int{1}
	}
	def := defaultSplit(info, v, p.Gemm.M, p.Gemm.N, p.Gemm.K)
	out := []int{def}
	for _, s := range []int{1, def / 2, def * 2, def * 4} {
		if s >= 1 && s*256 <= p.Gemm.K && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// DefaultSplit is the split of g's sum over k with its variant on a
// device, where nothing is tuned.
func DefaultSplit(info vk.DeviceInfo, g Gemm) int {
	return defaultSplit(info, g.Variant, g.M, g.N, g.K)
}

// defaultSplit splits a GEMM's sum over k so that the device's compute
// units get about two workgroups each where its tiles alone give fewer,
// keeping at least 256 of k a layer.
func defaultSplit(info vk.DeviceInfo, v GemmVariant, m, n, k int) int {
	if v.Style != Warp {
		return 1
	}
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

// ArgFloats is the size of each argument Record takes, in floats; the
// last is the output.
func (p Product) ArgFloats() []int {
	if g := p.Gemm; g != nil {
		return []int{g.M * g.K, g.K * g.N, max(g.SplitScratch(), 1), g.M * g.N}
	}
	c := p.Conv
	in, out, w := c.pixels()*c.Cin, c.pixels()*c.Cout, c.KH*c.KW*c.Cin*c.Cout
	switch p.Pass {
	case ConvForward:
		return []int{in, w, out}
	case ConvBackwardData:
		return []int{out, w, in}
	}
	return []int{in, out, max(c.FilterScratch(), 1), w}
}

// Record records the product on args (as ArgFloats lists them). Where it
// adds a bias, the bias is the start of the second argument: timing does
// not depend on the values.
func (p Product) Record(ctx *vk.Context, rec *vk.Recording, args []vk.Range) error {
	if g := p.Gemm; g != nil {
		return g.Record(ctx, rec, args[0], args[1], args[3], args[1], args[2])
	}
	c := p.Conv
	switch p.Pass {
	case ConvForward:
		return c.Forward(ctx, rec, args[0], args[1], args[2], args[1])
	case ConvBackwardData:
		return c.BackwardData(ctx, rec, args[0], args[1], args[2])
	}
	return c.BackwardFilter(ctx, rec, args[0], args[1], args[3], args[2])
}

// Tuning chooses the GEMM variant of each product: the one `vkcnn tune`
// measured fastest for its shape on this device, else the device's
// default (DefaultGemmVariant).
type Tuning struct {
	info   vk.DeviceInfo
	chosen map[string]string
}

// NewTuning makes a tuning for a device from chosen, variant names by
// product key (nil: defaults throughout).
func NewTuning(info vk.DeviceInfo, chosen map[string]string) Tuning {
	return Tuning{info: info, chosen: chosen}
}

// Choose returns p with its variant and split set, and whether a tuned
// choice set them.
func (t Tuning) Choose(p Product) (Product, bool) {
	if s, ok := t.chosen[p.Key()]; ok {
		if ch, err := ParseChoice(s); err == nil && ch.Variant.CanRun(t.info, p) == nil {
			return p.With(ch), true
		}
	}
	v := DefaultGemmVariant(t.info, p)
	split := 1
	if p.Gemm != nil {
		split = defaultSplit(t.info, v, p.Gemm.M, p.Gemm.N, p.Gemm.K)
	}
	return p.With(Choice{Variant: v, Split: split}), false
}

// Gemm returns g with its variant chosen.
func (t Tuning) Gemm(g Gemm) Gemm {
	p, _ := t.Choose(Product{Gemm: &g})
	return *p.Gemm
}

// Conv returns c with the variant chosen for one of its passes.
func (t Tuning) Conv(c Conv, pass ConvPass) Conv {
	p, _ := t.Choose(Product{Conv: &c, Pass: pass})
	return *p.Conv
}

// Candidates are the variants the device can run the product with, for
// the tuner to try.
func Candidates(info vk.DeviceInfo, p Product) []GemmVariant {
	var out []GemmVariant
	for _, v := range GemmVariants {
		if v.CanRun(info, p) == nil {
			out = append(out, v)
		}
	}
	return out
}

// tuningFile is the cache: tuned choices by device ("name | driver") and
// product key.
type tuningFile struct {
	Version int                          `json:"version"`
	Devices map[string]map[string]string `json:"devices"`
}

const tuningVersion = 1

// TuningPath is the cache file: $VKCNN_TUNING, else vkcnn/tuning.json in
// the user's cache folder.
func TuningPath() (string, error) {
	if p := os.Getenv("VKCNN_TUNING"); p != "" {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tuning cache: %w", err)
	}
	return filepath.Join(dir, "vkcnn", "tuning.json"), nil
}

func deviceKey(info vk.DeviceInfo) string { return info.Name + " | " + info.DriverInfo }

// readTuningFile reads the cache; a missing or unreadable one reads as
// empty (with an error for the unreadable).
func readTuningFile(path string) (tuningFile, error) {
	empty := tuningFile{Version: tuningVersion, Devices: map[string]map[string]string{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return empty, fmt.Errorf("read tuning cache: %w", err)
	}
	var f tuningFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != tuningVersion || f.Devices == nil {
		return empty, fmt.Errorf("tuning cache %s is not a version-%d vkcnn tuning file (run vkcnn tune again)", path, tuningVersion)
	}
	return f, nil
}

// LoadTuning reads the device's tuned choices from the cache. A missing
// cache gives the defaults; an unreadable one gives the defaults and an
// error to report, so that a bad cache never stops training.
func LoadTuning(info vk.DeviceInfo) (Tuning, error) {
	path, err := TuningPath()
	if err != nil {
		return NewTuning(info, nil), err
	}
	f, err := readTuningFile(path)
	return NewTuning(info, f.Devices[deviceKey(info)]), err
}

// SaveTuning merges chosen into the device's entry of the cache and
// returns the file's path.
func SaveTuning(info vk.DeviceInfo, chosen map[string]string) (string, error) {
	path, err := TuningPath()
	if err != nil {
		return "", err
	}
	f, _ := readTuningFile(path) // a corrupt cache is replaced
	entry := f.Devices[deviceKey(info)]
	if entry == nil {
		entry = map[string]string{}
		f.Devices[deviceKey(info)] = entry
	}
	for k, v := range chosen {
		entry[k] = v
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("save tuning: %w", err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	})
	if err != nil {
		return "", fmt.Errorf("save tuning %s: %w", path, err)
	}
	return path, nil
}

// RunKernelsFile is where a run folder records the kernels it trains with,
// so that resuming it runs the same ones, whatever vkcnn tune has cached
// since: another variant or split sums in another order, and the resumed
// run would not be bit-identical to an uninterrupted one.
const RunKernelsFile = "kernels.json"

type runKernels struct {
	Device  string            `json:"device"`
	Choices map[string]string `json:"choices"`
}

// SaveRunKernels records in path the choice t makes for each product.
func SaveRunKernels(path string, t Tuning, products []Product) error {
	r := runKernels{Device: deviceKey(t.info), Choices: map[string]string{}}
	for _, p := range products {
		chosen, _ := t.Choose(p)
		r.Choices[p.Key()] = chosen.Choice().String()
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // keys hold ">"
		return enc.Encode(r)
	})
	if err != nil {
		return fmt.Errorf("record the run's kernels: %w", err)
	}
	return nil
}

// ErrOtherDevice means a run's kernels were recorded on another device.
var ErrOtherDevice = errors.New("recorded on another device")

// LoadRunKernels reads the choices a run recorded, as a tuning for the
// device info describes. A missing file (a run from before vkcnn recorded
// them) is fs.ErrNotExist; a file of another device, ErrOtherDevice.
func LoadRunKernels(path string, info vk.DeviceInfo) (Tuning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Tuning{}, err
	}
	var r runKernels
	if err := json.Unmarshal(data, &r); err != nil || r.Choices == nil {
		return Tuning{}, fmt.Errorf("%s is not a record of a run's kernels", path)
	}
	if r.Device != deviceKey(info) {
		return Tuning{}, fmt.Errorf("%s: %w (%s, not %s)", path, ErrOtherDevice, r.Device, deviceKey(info))
	}
	for key, s := range r.Choices {
		if _, err := ParseChoice(s); err != nil {
			return Tuning{}, fmt.Errorf("%s: %s: %w", path, key, err)
		}
	}
	return NewTuning(info, r.Choices), nil
}
