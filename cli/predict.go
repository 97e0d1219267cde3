package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
)

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify images with a trained run",
		UsageText: "vkcnn predict --run DIR [--device D] IMAGE.png...",
		Description: "Each image is scaled to the model's input size. For a run trained on an\n" +
			"image folder, it is read as training read the folder: resized (bilinear, no\n" +
			"antialiasing), converted to the run's colour, never inverted. Otherwise a model\n" +
			"of one channel reads it as grayscale, inverted when its border is light\n" +
			"(MNIST-style data is light on dark), and a model of three reads it as RGB.\n" +
			"A run trained with --normalize normalizes it as training did.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			precisionFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       predict,
	}
}

// predict is the library's Predictor at a batch of the images given, up
// to 64.
func predict(c *cli.Context) (err error) {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		return fmt.Errorf("no images given (vkcnn predict --run DIR IMAGE.png...)")
	}
	run, dev, prec, err := openRun(c)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dev.Close()) }()
	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{Batch: min(len(paths), vkcnn.DefaultPredictBatch), Precision: prec})
	if err != nil {
		return err
	}
	defer p.Close()
	var pixels []byte
	inverted := make([]bool, len(paths))
	for i, path := range paths {
		img, err := vkcnn.ReadImage(path)
		if err != nil {
			return err
		}
		px, inv, err := run.Input(img)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		pixels, inverted[i] = append(pixels, px...), inv
	}
	preds, err := p.PredictPixels(pixels)
	if err != nil {
		return err
	}
	for i, pred := range preds {
		note := ""
		if inverted[i] {
			note = " (inverted: dark on a light ground)"
		}
		fmt.Fprintf(c.App.Writer, "%s: %s (probability %.4f)%s\n", paths[i], numberedClass(run.ClassNames(), pred.Class), pred.Probability, note)
	}
	return nil
}
