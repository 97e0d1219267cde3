package cli

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/urfave/cli/v2"

	"vkcnn/augment"
	"vkcnn/mnist"
	"vkcnn/nn/kernels"
	"vkcnn/report"
	"vkcnn/vk"
)

func summaryCommand() *cli.Command {
	return &cli.Command{
		Name:         "summary",
		Usage:        "print a model's layers, output shapes and parameters, Keras style",
		UsageText:    "vkcnn summary [--model standard|small|FILE]",
		Flags:        []cli.Flag{modelFlag},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			m, err := loadModel(c)
			if err != nil {
				return err
			}
			fmt.Fprint(c.App.Writer, m.Summary())
			return nil
		},
	}
}

func augmentCommand() *cli.Command {
	return &cli.Command{
		Name:      "augment",
		Usage:     "draw a grid of augmented training digits with their labels, warped on the device",
		UsageText: "vkcnn augment --shift F | --shift-px P [--n 25] --out samples.png [--seed S] [--data DIR] [--device D]",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "n", Value: 25, Usage: "digits to draw, 1 to 100"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "PNG file to write"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the sample choice and the transforms"},
			dataFlag,
			deviceFlag,
		}, augmentFlags()...),
		OnUsageError: usageError,
		Action:       augmentSamples,
	}
}

func augmentSamples(c *cli.Context) (err error) {
	n := c.Int("n")
	if n < 1 || n > 100 {
		return fmt.Errorf("--n %d: must lie in 1..100", n)
	}
	cfg, err := augmentConfig(c)
	if err != nil {
		return err
	}
	gen, err := augment.NewGenerator(cfg, c.Uint64("seed"))
	if err != nil {
		return err
	}
	train, _, err := mnist.Load(mnist.Dir(c.String("data")))
	if err != nil {
		return err
	}
	pick := rand.New(rand.NewPCG(c.Uint64("seed"), 0x706963))
	order := make([]uint32, n)
	labels := make([]string, n)
	for i := range order {
		order[i] = uint32(pick.IntN(train.N))
		labels[i] = fmt.Sprint(train.Labels[order[i]])
	}

	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	pixels, err := warpOnDevice(ctx, train.Images, order, gen.Batch(n), cfg.FillMode() == augment.Constant)
	if err != nil {
		return err
	}
	images := make([][]float32, n)
	for i := range images {
		images[i] = pixels[i*mnist.Pixels : (i+1)*mnist.Pixels]
	}
	if err := report.DigitGrid(c.String("out"), images, labels); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Wrote %s: %d training digits, %s\n", c.String("out"), n, describeAugment(cfg))
	return nil
}

func describeAugment(cfg augment.Config) string {
	switch {
	case cfg.ShiftFrac > 0:
		return fmt.Sprintf("shifted by up to %.3g pixels, fill %s", cfg.ShiftFrac*augment.Side, cfg.FillMode())
	case cfg.ShiftPx > 0:
		return fmt.Sprintf("shifted by up to %d whole pixels, fill %s", cfg.ShiftPx, cfg.FillMode())
	}
	return "not shifted"
}

// warpOnDevice gathers images[order] on the device and warps each by its
// affine: the same shader training uses.
func warpOnDevice(ctx *vk.Context, images []byte, order []uint32, affines []float32, zeroFill bool) ([]float32, error) {
	n := len(order)
	var bufs []*vk.Buffer
	defer func() {
		for _, b := range bufs {
			b.Close()
		}
	}()
	newBuf := func(size int) (*vk.Buffer, error) {
		b, err := ctx.NewBuffer(int64(size))
		if err == nil {
			bufs = append(bufs, b)
		}
		return b, err
	}
	set, err := newBuf(len(images))
	if err != nil {
		return nil, err
	}
	orderBuf, err := newBuf(4 * n)
	if err != nil {
		return nil, err
	}
	affineBuf, err := newBuf(4 * len(affines))
	if err != nil {
		return nil, err
	}
	out, err := newBuf(4 * n * mnist.Pixels)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(set.Write(0, images), orderBuf.WriteUint32(0, order), affineBuf.WriteFloat32(0, affines)); err != nil {
		return nil, err
	}
	rec, err := ctx.NewRecording()
	if err != nil {
		return nil, err
	}
	defer rec.Close()
	if err := kernels.Augment(ctx, rec, vk.Whole(set), vk.Whole(orderBuf), 0, vk.Whole(affineBuf), vk.Whole(out), n, zeroFill); err != nil {
		return nil, err
	}
	if err := rec.Run(); err != nil {
		return nil, err
	}
	pixels := make([]float32, n*mnist.Pixels)
	return pixels, out.ReadFloat32(0, pixels)
}
