package kernels

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/internal/usercache"
	"github.com/vkcnn/vkcnn/vk"
)

// Tuning chooses the kernel of each product at a precision: the one
// `vkcnn tune` measured fastest for its shape on this device, else the
// device's default (Default).
type Tuning struct {
	info      vk.DeviceInfo
	precision Precision
	chosen    map[string]string
}

// NewTuning makes a tuning for a device at a precision from chosen,
// choices by product key (nil: defaults throughout).
func NewTuning(info vk.DeviceInfo, prec Precision, chosen map[string]string) Tuning {
	return Tuning{info: info, precision: prec, chosen: chosen}
}

// Precision is the precision the tuning runs products at (those no
// matrix variant runs, at fp32).
func (t Tuning) Precision() Precision { return t.precision }

// Choose returns p with its variant, split and precision set, and whether
// a tuned choice set them: one the device runs p with, at the precision
// the default runs it at.
func (t Tuning) Choose(p Product) (Product, bool) {
	def := Default(t.info, p, t.precision)
	if s, ok := t.chosen[p.Key()]; ok {
		if ch, err := ParseChoice(s); err == nil && ch.Precision == def.Precision && Check(t.info, p, ch) == nil {
			return p.With(ch), true
		}
	}
	return p.With(def), false
}

// Fallback says why p runs at fp32 where the tuning's precision is a
// matrix one (nil where it does not): no matrix variant runs it. The
// reason is the product's (its lengths) where a variant the device runs
// refuses it, else the device's.
func (t Tuning) Fallback(p Product) error {
	if !t.precision.matrix() || Default(t.info, p, t.precision).Precision.matrix() {
		return nil
	}
	var device error
	for _, v := range GemmVariants {
		if !v.Style.matrix() {
			continue
		}
		if err := v.usable(t.info, t.precision, false); err != nil {
			device = cmp.Or(device, err)
			continue
		}
		if _, err := For(t.info, p, v, t.precision); err != nil {
			return err
		}
	}
	return device
}

// Refused is Refused for the tuning's device and precision.
func (t Tuning) Refused() []string { return Refused(t.info, t.precision) }

// Gemm returns g with its variant and split chosen.
func (t Tuning) Gemm(g Gemm) Gemm {
	p, _ := t.Choose(g)
	return p.(Gemm)
}

// Scratch is the scratch p needs as it is chosen to run, in floats.
func (t Tuning) Scratch(p Product) int {
	chosen, _ := t.Choose(p)
	return chosen.Scratch(t.info)
}

// Conv returns c with the variant chosen for one of its passes.
func (t Tuning) Conv(c Conv, pass ConvPass) Conv {
	p, _ := t.Choose(ConvProduct{Conv: c, Pass: pass})
	return p.(ConvProduct).Conv
}

// tuningFile is the cache: tuned choices by device and precision
// ("name | driver | precision") and product key.
type tuningFile struct {
	Version int                          `json:"version"`
	Devices map[string]map[string]string `json:"devices"`
}

const tuningVersion = 2

// TuningPath is the cache file: $VKCNN_TUNING, else vkcnn/tuning.json in
// the user's cache folder.
func TuningPath() (string, error) {
	return usercache.Path("VKCNN_TUNING", "tuning.json", "the tuning cache")
}

func deviceKey(info vk.DeviceInfo) string { return info.Name + " | " + info.DriverInfo }

func tuningKey(info vk.DeviceInfo, prec Precision) string {
	return deviceKey(info) + " | " + prec.String()
}

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

// LoadTuning reads the device's tuned choices at a precision from the
// cache. A missing cache gives the defaults; an unreadable one gives the
// defaults and an error to report, so that a bad cache never stops
// training.
func LoadTuning(info vk.DeviceInfo, prec Precision) (Tuning, error) {
	path, err := TuningPath()
	if err != nil {
		return NewTuning(info, prec, nil), err
	}
	f, err := readTuningFile(path)
	return NewTuning(info, prec, f.Devices[tuningKey(info, prec)]), err
}

// CachedChoices are the choices a tuning cache file holds for the device
// at a precision: none where it holds no tuning of them (or does not
// exist).
func CachedChoices(path string, info vk.DeviceInfo, prec Precision) (map[string]string, error) {
	f, err := readTuningFile(path)
	return f.Devices[tuningKey(info, prec)], err
}

// SaveTuning merges chosen into the device's entry at a precision of the
// cache and returns the file's path.
func SaveTuning(info vk.DeviceInfo, prec Precision, chosen map[string]string) (string, error) {
	path, err := TuningPath()
	if err != nil {
		return "", err
	}
	f, _ := readTuningFile(path) // a corrupt cache is replaced
	entry := f.Devices[tuningKey(info, prec)]
	if entry == nil {
		entry = map[string]string{}
		f.Devices[tuningKey(info, prec)] = entry
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

// runKernels is the record of the kernels a run trains with (a run
// folder's kernels.json), so that resuming it runs the same ones, whatever
// vkcnn tune has cached since: another variant or split sums in another
// order, and the resumed run would not be bit-identical to an
// uninterrupted one.
type runKernels struct {
	Device string `json:"device"`
	// Precision is the run's (fp32 in a record from before precisions).
	Precision Precision         `json:"precision"`
	Choices   map[string]string `json:"choices"`
}

// SaveRunKernels records in path the precision of t and the choice it
// makes for each product.
func SaveRunKernels(path string, t Tuning, products []Product) error {
	r := runKernels{Device: deviceKey(t.info), Precision: t.precision, Choices: map[string]string{}}
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

// LoadRunKernels reads the precision and choices a run recorded, as a
// tuning for the device info describes. A missing file (a run from before vkcnn recorded
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
	return NewTuning(info, r.Precision, r.Choices), nil
}
