//go:build unix

package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/cputime"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// BenchmarkResNet20TrainingStep times training steps of resnet20 at
// MNIST's shape and batch 128 with lavapipe's default kernels, and
// reports the CPU time a step as well: on a machine others share, what
// the step costs rather than how long it waited (BENCHMARKS).
// go test ./nn -run '^$' -bench ResNet20TrainingStep -benchtime 6x
func BenchmarkResNet20TrainingStep(b *testing.B) {
	ctx := vktest.Open(b)
	spec, err := PresetFor("resnet20", [3]int{28, 28, 1}, 10)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Build(spec)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 128
	net, err := NewNet(ctx, m, batch, kernels.NewTuning(ctx.Info, kernels.FP32, nil), m.Init(17), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(net.Close)
	rng := rand.New(rand.NewPCG(31, 32))
	images, labels := randomSet(rng, 2*batch)
	set, err := net.Upload(images, labels)
	if err != nil {
		b.Fatal(err)
	}
	step := func(s int) {
		feed := Feed{Counter: uint32(s), Seed: 5, LR: AdamLR(1e-3, uint32(s)), Indices: rng.Perm(2 * batch)[:batch]}
		if err := net.Step(set, ModeTrain, augment.Sampling{}, feed); err != nil {
			b.Fatal(err)
		}
	}
	step(1) // records the step and compiles its pipelines
	b.ResetTimer()
	start := cputime.Process()
	for s := range b.N {
		step(2 + s)
	}
	b.ReportMetric((cputime.Process()-start)/float64(b.N), "cpu-s/step")
}
