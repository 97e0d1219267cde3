package kernels

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

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

// Variant is the variant the product runs with.
func (p Product) Variant() GemmVariant {
	if p.Conv != nil {
		return p.Conv.Variant
	}
	return p.Gemm.Variant
}

// With returns the product run by variant v.
func (p Product) With(v GemmVariant) Product {
	if p.Conv != nil {
		c := *p.Conv
		c.Variant = v
		p.Conv = &c
	} else {
		g := *p.Gemm
		g.Variant = v
		p.Gemm = &g
	}
	return p
}

// ArgFloats is the size of each argument Record takes, in floats; the
// last is the output.
func (p Product) ArgFloats() []int {
	if g := p.Gemm; g != nil {
		return []int{g.M * g.K, g.K * g.N, g.M * g.N}
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
		return g.Record(ctx, rec, args[0], args[1], args[2], args[1])
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

// Choose returns p with its variant set, and whether a tuned choice set it.
func (t Tuning) Choose(p Product) (Product, bool) {
	if name, ok := t.chosen[p.Key()]; ok {
		if v, err := GemmVariantByName(name); err == nil && v.Usable(t.info) == nil {
			return p.With(v), true
		}
	}
	m, n := p.size()
	return p.With(DefaultGemmVariant(t.info, m, n)), false
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

// Candidates are the variants the device can run, for the tuner to try.
func Candidates(info vk.DeviceInfo) []GemmVariant {
	var out []GemmVariant
	for _, v := range GemmVariants {
		if v.Usable(info) == nil {
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
