package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cli/internal/measure"
)

// tune measures the small model's products, caches a winner for each, and
// bench all then runs (and says it runs) the tuned variants.
func TestTuneCachesWinnersThatBenchUses(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "sub", "tuning.json")
	env := []string{"VKCNN_TUNING=" + cache}
	out, stderr, status := runVkcnn(t, env, "tune", "--model", "small", "--batch-size", "2", "--reps", "1", "--json")
	if status != 0 {
		t.Fatalf("tune: status %d: %s", status, stderr)
	}
	var res tuneResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("tune --json: %v\n%s", err, out)
	}
	// Two convolutions (the first without an input gradient) and two dense
	// layers: 5 + 6 products.
	if len(res.Products) != 11 || res.Cache != cache {
		t.Fatalf("tuned %d products into %q, want 11 into %q", len(res.Products), res.Cache, cache)
	}
	for _, p := range res.Products {
		if p.Best == "" || len(p.Candidates) < 2 {
			t.Errorf("%s: best %q of %d candidates", p.Name, p.Best, len(p.Candidates))
		}
	}
	data, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Devices map[string]map[string]string `json:"devices"`
	}
	if err := json.Unmarshal(data, &file); err != nil || len(file.Devices) != 1 {
		t.Fatalf("cache: %v, %d devices\n%s", err, len(file.Devices), data)
	}
	for dev, entry := range file.Devices {
		if !strings.Contains(dev, res.Driver) || len(entry) != 11 {
			t.Errorf("cache entry %q has %d choices, want the driver in its key and 11", dev, len(entry))
		}
	}

	out, stderr, status = runVkcnn(t, env, "bench", "all", "--model", "small", "--batch-size", "2", "--reps", "1", "--json")
	if status != 0 {
		t.Fatalf("bench all: status %d: %s", status, stderr)
	}
	var bench measure.StepResult
	if err := json.Unmarshal([]byte(out), &bench); err != nil {
		t.Fatal(err)
	}
	best := map[string]string{}
	for _, p := range res.Products {
		best[p.Key] = p.Best
	}
	for _, k := range bench.Kernels {
		if !k.Tuned || k.Variant != best[k.Key] {
			t.Errorf("bench runs %s with %s (tuned %v), tune chose %s", k.Name, k.Variant, k.Tuned, best[k.Key])
		}
	}

	// tune --compare FILE: a copy of the cache with one choice changed
	// shows that product alone, at least, with its timings.
	changed := res.Products[0]
	for _, entry := range file.Devices {
		entry[changed.Key] = "none-such"
	}
	data, err = json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	earlier := filepath.Join(t.TempDir(), "earlier.json")
	if err := os.WriteFile(earlier, []byte(`{"version": 2, `+string(data[1:])), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, status = runVkcnn(t, env, "tune", "--model", "small", "--batch-size", "2", "--reps", "1", "--compare", earlier)
	shown := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(earlier+" chose none-such, this tune ") + `\S+:\n` +
		regexp.QuoteMeta(changed.Name+"  ["+changed.Key+"]") + `\n  [ *] `)
	if status != 0 || !regexp.MustCompile(`(?m)^chose otherwise than .* for [1-9][0-9]* of 11 products:$`).MatchString(out) || !shown.MatchString(out) {
		t.Fatalf("tune --compare: status %d: %s\n%s", status, stderr, out)
	}
	_, stderr, status = runVkcnn(t, env, "tune", "--model", "small", "--compare", filepath.Join(t.TempDir(), "none.json"))
	if status != 1 || !strings.Contains(stderr, "none.json holds no tuning of ") {
		t.Fatalf("tune --compare with no such file: status %d, %s", status, stderr)
	}
}

// A cache that is not JSON is a warning: training goes on with defaults.
func TestCorruptTuningCacheIsAWarning(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "tuning.json")
	if err := os.WriteFile(cache, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, status := runVkcnn(t, []string{"VKCNN_TUNING=" + cache}, "bench", "all", "--model", "small", "--batch-size", "2", "--reps", "1")
	if status != 0 || !strings.Contains(stderr, "warning: tuning cache") || !strings.Contains(stderr, "using the default kernels") {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
}
