package nn

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// sequentialDigests are the SHA-256 digests of the weights (and Adam's
// moments) after sequentialSteps, recorded before layers could name
// their inputs (commit d0b3fda): a sequential model trains bit for bit as
// it did.
var sequentialDigests = map[string]string{
	"small":    "524d89dae1e96d3c1e28250d81b3d0eabadc70d81fb2b6fdb2dfe1b24f652f55",
	"standard": "a2f5c98969c430a62b2d302cbbd55b133ca76cd4642cb8d00cb11ad92bde8b18",
	"tiny":     "363d958b40efb4cafb4ad4c512b760bc0980579a8c3bfaecfbc2b5c62adb2dea",
	"bn":       "fd3a57c4758f8de529b3f88554de32cc5f0b7c6e3d16e5dc65dacd4e5c11f566",
}

// sequentialSteps trains spec for steps training steps at batch on random
// digits, from fixed weights, with lavapipe's kernels (a GPU's choose
// other variants, whose sums round otherwise), and returns the digest of the weights and
// Adam's moments after them.
func sequentialSteps(t *testing.T, spec ModelSpec, batch, steps int) string {
	t.Helper()
	ctx := vktest.Open(t)
	if !ctx.Info.IsLavapipe() {
		t.Skipf("the digests are lavapipe's; %s runs other kernels", ctx.Info.Name)
	}
	net := newTestNet(t, ctx, spec, batch, 17)
	rng := rand.New(rand.NewPCG(31, 32))
	images, labels := randomSet(rng, 3*batch)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= steps; s++ {
		feed := Feed{Counter: uint32(s), Seed: 5, LR: AdamLR(1e-3, uint32(s)), Indices: rng.Perm(3 * batch)[:batch-s%2]}
		if err := net.Step(set, ModeTrain, augment.Sampling{}, feed); err != nil {
			t.Fatal(err)
		}
	}
	params, err := net.Params()
	if err != nil {
		t.Fatal(err)
	}
	m, v, err := net.OptimizerState()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, values := range [][]float32{params, m, v} {
		for _, x := range values {
			binary.Write(h, binary.LittleEndian, math.Float32bits(x))
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestSequentialModelsTrainAsBefore holds the presets and the test models
// to the weights they reached before graphs: a partial batch among full
// ones, dropout, batch normalization.
func TestSequentialModelsTrainAsBefore(t *testing.T) {
	small, _ := Preset("small")
	standard, _ := Preset("standard")
	for _, c := range []struct {
		name         string
		spec         ModelSpec
		batch, steps int
	}{{"small", small, 4, 3}, {"standard", standard, 2, 2}, {"tiny", tinyBeforeGraphs(), 5, 3}, {"bn", bnSpec(), 5, 3}} {
		t.Run(c.name, func(t *testing.T) {
			if got, want := sequentialSteps(t, c.spec, c.batch, c.steps), sequentialDigests[c.name]; got != want {
				t.Errorf("digest %s, want %s (recorded before graphs)", got, want)
			}
		})
	}
}

// tinyBeforeGraphs is tinySpec as it was when sequentialDigests were
// recorded (tinySpec has since gained layers of later kinds).
func tinyBeforeGraphs() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 3, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "maxpool2d"},
		{Type: "conv2d", Filters: 4, KernelSize: Pair{5, 5}},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "avgpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 8},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "dropout", Rate: 0.3},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}
