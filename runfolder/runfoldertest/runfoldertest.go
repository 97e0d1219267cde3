// Package runfoldertest trains a tiny run folder on a generated data set, for
// the tests and examples of the library and the programs built on it.
package runfoldertest

import (
	"errors"
	"image"
	"math/rand/v2"
	"path/filepath"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

// Geometry and Names are the tiny run's images and classes: class k is a
// light band across the k-th third of the rows (datatest.Learnable).
var (
	Geometry = augment.Geometry{Width: 12, Height: 12, Channels: 1}
	Names    = []string{"top", "middle", "bottom"}
)

// spec is a convolution and a dense layer: it learns the bands in a few
// dozen steps.
var spec = nn.ModelSpec{Format: nn.SpecFormat, Name: "tiny", Input: [3]int{12, 12, 1}, Layers: []nn.LayerSpec{
	{Type: "conv2d", Filters: 4, KernelSize: nn.Pair{3, 3}, Activation: "relu"},
	{Type: "flatten"},
	{Type: "dense", Units: 3, Activation: "softmax"},
}}

// Write trains the tiny run into dir (which must exist) on the default
// device: model.json, weights.safetensors and run.json with the classes'
// names, as vkcnn train leaves them.
func Write(dir string) (err error) {
	model, err := nn.Build(spec)
	if err != nil {
		return err
	}
	images, labels := datatest.Learnable(rand.New(rand.NewPCG(1, 2)), Geometry, len(Names), 480)
	validate, sync := vk.ValidateFromEnv()
	ctx, err := vk.Open(vk.Options{Validate: validate, SyncValidation: sync})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ctx.Close()) }()
	cfg := nn.TrainConfig{Epochs: 2, BatchSize: 32, LR: 1e-2, Seed: 1, Shuffle: true}
	net, err := nn.NewNet(ctx, model, cfg.BatchSize, kernels.NewTuning(ctx.Info, kernels.FP32, nil), model.Init(cfg.Seed), len(labels))
	if err != nil {
		return err
	}
	defer net.Close()
	set, err := net.Upload(images, labels)
	if err != nil {
		return err
	}
	if _, err := nn.Train(net, set, set, cfg, nil, nil); err != nil {
		return err
	}
	params, err := net.Params()
	if err != nil {
		return err
	}
	return errors.Join(runfolder.WriteModel(dir, spec), model.SaveWeights(filepath.Join(dir, runfolder.WeightsFile), params),
		runfolder.WriteRecord(dir, runfolder.Record{Model: spec.Name, Config: cfg, Data: &runfolder.Data{
			Dir: "generated", Format: "generated", Height: Geometry.Height, Width: Geometry.Width, Channels: 1,
			Classes: len(Names), Names: Names, Train: len(labels), Test: len(labels)}}))
}

// Image is a new image of class k, drawn with seed, as a user's gray
// picture.
func Image(k int, seed uint64) *image.Gray {
	rng := rand.New(rand.NewPCG(seed, 3))
	img := image.NewGray(image.Rect(0, 0, Geometry.Width, Geometry.Height))
	for y := range Geometry.Height {
		for x := range Geometry.Width {
			v := byte(rng.IntN(90))
			if y*len(Names)/Geometry.Height == k {
				v = byte(170 + rng.IntN(86))
			}
			img.Pix[y*img.Stride+x] = v
		}
	}
	return img
}
