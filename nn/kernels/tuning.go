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

// Tuning chooses the GEMM variant of each product: the one `vkcnn tune`
// measured fastest for its shape on this device, else the device's
// default (Default).
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
		if ch, err := ParseChoice(s); err == nil && Check(t.info, p, ch) == nil {
			return p.With(ch), true
		}
	}
	return p.With(Default(t.info, p)), false
}

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
