package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestGPUKernelsPassSyncValidation runs a training step of the small
// preset with every product on each GPU variant, the matrix ones emulated
// (plain GEMMs split over k),
// staged as on a discrete GPU, under synchronization validation. Lavapipe
// must be able to run every GPU variant: one it cannot fails the test.
func TestGPUKernelsPassSyncValidation(t *testing.T) {
	if !vk.ValidationAvailable() {
		t.Skip("no validation layer installed")
	}
	ctx := vktest.OpenWith(t, vk.Options{SyncValidation: true, ForceStaging: true})
	spec, _ := Preset("small")
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 3
	rng := rand.New(rand.NewPCG(7, 8))
	images, labels := randomSet(rng, 4)
	_, products := Products(m, batch)
	for _, v := range kernels.GemmVariants {
		if v.Style == kernels.Subgroup {
			continue
		}
		// The matrix variants at bf16x3 where lavapipe's shared memory
		// holds its tiles, else bf16.
		prec := kernels.FP32
		if v.Style == kernels.Matrix {
			prec = kernels.BF16x3
			if _, err := kernels.For(ctx.Info, kernels.Gemm{M: 4, N: 4, K: 4}, v, prec); err != nil {
				prec = kernels.BF16
			}
		}
		if _, err := kernels.For(ctx.Info, kernels.Gemm{M: 4, N: 4, K: 4}, v, prec); err != nil {
			t.Fatalf("lavapipe cannot run a GPU variant: %v", err)
		}
		choice := kernels.Choice{Variant: v, Split: 1, Precision: prec}
		if v.Style != kernels.Tiled {
			choice.Split = 3
		}
		chosen := map[string]string{}
		for _, p := range products {
			chosen[p.Key()] = choice.String()
		}
		t.Run(choice.String(), func(t *testing.T) {
			net, err := NewNet(ctx, m, batch, kernels.NewTuning(ctx.Info, choice.Precision, chosen), m.Init(1), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			set, err := net.Upload(images, labels)
			if err != nil {
				t.Fatal(err)
			}
			v := Feed{Counter: 1, Seed: 1, LR: AdamLR(1e-3, 1), Indices: []int{3, 0, 1}}
			if err := net.Step(set, ModeTrain, augment.Sampling{}, v); err != nil {
				t.Fatal(err)
			}
			if err := ctx.Check(); err != nil {
				t.Fatal(err)
			}
			if g := net.Tuning.Gemm(m.Layers[len(m.Layers)-2].rec.(*dense).forwardGemm(batch)); choice.Split > 1 && g.Split < 2 {
				t.Fatalf("the dense layer runs unsplit")
			}
		})
	}
}
