package cli

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// TestResNet20TakesTheDataShape trains the resnet20 preset a step on
// colour images of 4 classes: it takes their shape and classes, and the
// run's model.json records them.
func TestResNet20TakesTheDataShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	cifar := writeCIFAR(t, rng, []string{"airplane", "automobile", "bird", "cat"}, 8, 4)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--model", "resnet20", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "4", "--data", cifar.dir, "--out", run)
	data, err := os.ReadFile(filepath.Join(run, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := nn.ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if m.Input() != (nn.Shape{H: 32, W: 32, C: 3}) || m.Classes != 4 || spec.Name != "resnet20" {
		t.Errorf("the run's model %s takes %v, %d classes; want 32x32x3 and 4", spec.Name, m.Input(), m.Classes)
	}
}
