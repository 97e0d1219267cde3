//go:build unix

package measure

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/internal/cputime"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// BenchmarkVariantCPU runs each product of resnet20 (MNIST's shape, batch
// 128) with every subgroup kernel the device runs it with, and reports
// the CPU time a run: on a CPU device shared with other work, what a
// variant costs rather than how long it waited, which is what `vkcnn
// tune` times. The sub-benchmarks are named by layer, pass and variant,
// the default marked:
// go test ./cli/internal/measure -run '^$' -bench 'VariantCPU/stage1_block1_conv1' -benchtime 7x
func BenchmarkVariantCPU(b *testing.B) {
	ctx := vktest.Open(b)
	spec, err := nn.PresetFor("resnet20", [3]int{28, 28, 1}, 10)
	if err != nil {
		b.Fatal(err)
	}
	m, err := nn.Build(spec)
	if err != nil {
		b.Fatal(err)
	}
	names, products := nn.Products(m, 128)
	seen := map[string]bool{}
	for i, p := range products {
		if seen[p.Key()] {
			continue
		}
		seen[p.Key()] = true
		def := kernels.Default(ctx.Info, p, kernels.FP32)
		for _, ch := range kernels.Choices(ctx.Info, p, kernels.FP32) {
			if ch.Variant.Style != kernels.Subgroup {
				continue
			}
			name := ch.String()
			if ch == def {
				name += "(default)"
			}
			b.Run(fmt.Sprintf("%s/%s/%s", names[i], p.Key(), name), func(b *testing.B) {
				q := p.With(ch)
				var bufs vk.Buffers
				defer bufs.Close()
				rng := rand.New(rand.NewPCG(7, 8))
				var args []vk.Range
				for _, n := range q.ArgFloats(ctx.Info) {
					buf, _, err := randomFloats(ctx, &bufs, n, rng.Float32)
					if err != nil {
						b.Fatal(err)
					}
					args = append(args, vk.Whole(buf))
				}
				rec, err := ctx.NewRecording()
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Close()
				if err := q.RecordArgs(ctx, rec, args); err != nil {
					b.Fatal(err)
				}
				if err := rec.Run(); err != nil { // compiles the pipeline on lavapipe
					b.Fatal(err)
				}
				b.ResetTimer()
				start := cputime.Process()
				for range b.N {
					if err := rec.Run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(1e3*(cputime.Process()-start)/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
