package kernels_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
)

var update = flag.Bool("update", false, "rewrite testdata/choices.golden from the choices made now")

// TestChoicesGolden holds the built-in choice for every product of the
// presets at their training batch, on each recorded device at each
// precision, to testdata/choices.golden: the variant, split and
// precision chosen, whether Check allows it, and the shader and
// specialization constants it runs. A refactor of the kernels must leave
// the file as it is (no GPU is there to catch a change before the next
// run on one); a change of choice meant is rewritten with -update and
// read in the diff.
func TestChoicesGolden(t *testing.T) {
	var b strings.Builder
	for _, dev := range kernels.RecordedDevices {
		for _, preset := range nn.Presets {
			spec, err := nn.Preset(preset)
			if err != nil {
				t.Fatal(err)
			}
			model, err := nn.Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			batch := 64
			if d, ok := nn.PresetTraining(preset); ok {
				batch = d.BatchSize
			}
			names, products := nn.Products(model, batch)
			for _, prec := range kernels.Precisions {
				fmt.Fprintf(&b, "\n%s, %s at batch %d, %s:\n", dev.Name, preset, batch, prec)
				for i, p := range products {
					ch := kernels.Default(dev.Info, p, prec)
					allowed := "ok"
					if err := kernels.Check(dev.Info, p, ch); err != nil {
						allowed = "refused: " + err.Error()
					}
					shader, constants := kernels.ChosenShader(dev.Info, p, ch)
					fmt.Fprintf(&b, "  %-28s %-42s %-26s %s; %s %v\n", names[i], p.Key(), ch, allowed, shader, constants)
				}
			}
		}
	}
	got := strings.TrimPrefix(b.String(), "\n")
	path := filepath.Join("testdata", "choices.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestChoicesGolden -update writes it)", err)
	}
	if got != string(want) {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		shown := 0
		for i := 0; i < max(len(gotLines), len(wantLines)) && shown < 20; i++ {
			g, w := line(gotLines, i), line(wantLines, i)
			if g != w {
				t.Errorf("line %d:\n  now:    %s\n  golden: %s", i+1, g, w)
				shown++
			}
		}
		t.Fatalf("the choices differ from %s (-update rewrites it, where the change is meant)", path)
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}
