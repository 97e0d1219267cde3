package cli

import (
	"bufio"
	"fmt"
	"image"
	_ "image/jpeg" // predict reads JPEG digits too
	_ "image/png"
	"io"
	"math"
	"os"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/urfave/cli/v2"
	"golang.org/x/image/draw"

	"vkcnn/internal/atomicfile"
	"vkcnn/mnist"
	"vkcnn/nn"
	"vkcnn/report"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "test a trained run: loss, accuracy, error and the confusion matrix",
		UsageText: "vkcnn eval --run DIR [--data DIR] [--logits FILE.npy] [--batch-size N] [--device D]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			&cli.StringFlag{Name: "logits", Usage: "write the 10000 x classes float32 pre-softmax outputs, in test-file order, as .npy"},
			&cli.IntFlag{Name: "batch-size", Value: 100, Usage: "samples a step"},
			dataFlag,
			precisionFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       evaluate,
	}
}

func evaluate(c *cli.Context) (err error) {
	if c.Int("batch-size") <= 0 {
		return fmt.Errorf("--batch-size %d must be positive", c.Int("batch-size"))
	}
	model, params, err := loadRun(c.String("run"))
	if err != nil {
		return err
	}
	_, test, err := mnist.Load(mnist.Dir(c.String("data")))
	if err != nil {
		return err
	}
	ctx, net, err := openNet(c, model, params, c.Int("batch-size"))
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	defer net.Close()
	set, err := net.Upload(test.Images, test.Labels)
	if err != nil {
		return err
	}
	classes := model.Classes
	confusion := make([][]int, classes)
	for i := range confusion {
		confusion[i] = make([]int, classes)
	}
	var logits [][]float32
	loss, acc, err := nn.Evaluate(net, set, nil, func(batch []int) error {
		pred, err := net.Predictions()
		if err != nil {
			return err
		}
		for i, idx := range batch {
			confusion[min(int(test.Labels[idx]), classes-1)][pred[i]]++
		}
		if c.String("logits") == "" {
			return nil
		}
		z, err := net.Logits()
		if err != nil {
			return err
		}
		for i := range batch {
			logits = append(logits, z[i*classes:(i+1)*classes])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("evaluate %s on the test set: %w (nothing written)", c.String("run"), err)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "Test loss: %.4f\nTest accuracy: %.4f\nTest error: %.2f%%\n", loss, acc, 100*(1-acc))
	fmt.Fprintln(w, "Confusion matrix (rows: true class, columns: predicted):")
	var b strings.Builder
	b.WriteString("     ")
	for j := range classes {
		fmt.Fprintf(&b, "%6d", j)
	}
	fmt.Fprintln(w, b.String())
	for i, row := range confusion {
		b.Reset()
		fmt.Fprintf(&b, "%5d", i)
		for _, n := range row {
			fmt.Fprintf(&b, "%6d", n)
		}
		fmt.Fprintln(w, b.String())
	}
	if path := c.String("logits"); path != "" {
		if err := atomicfile.Write(path, func(w io.Writer) error { return npy.Write(w, logits) }); err != nil {
			return fmt.Errorf("write logits: %w", err)
		}
		fmt.Fprintf(w, "Wrote %s (%d x %d float32)\n", path, len(logits), classes)
	}
	return nil
}

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify digit images with a trained run",
		UsageText: "vkcnn predict --run DIR IMAGE.png... [--device D]",
		Description: "Each image is read as grayscale, scaled to 28x28 if needed, and inverted\n" +
			"when its border is light (MNIST digits are light on dark).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			precisionFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       predict,
	}
}

func predict(c *cli.Context) (err error) {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		return fmt.Errorf("no images given (vkcnn predict --run DIR IMAGE.png...)")
	}
	images := make([]byte, 0, len(paths)*mnist.Pixels)
	inverted := make([]bool, len(paths))
	for i, p := range paths {
		px, inv, err := readDigit(p)
		if err != nil {
			return err
		}
		images = append(images, px...)
		inverted[i] = inv
	}
	model, params, err := loadRun(c.String("run"))
	if err != nil {
		return err
	}
	batch := min(len(paths), 64)
	ctx, net, err := openNet(c, model, params, batch)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	defer net.Close()
	set, err := net.Upload(images, make([]uint8, len(paths)))
	if err != nil {
		return err
	}
	w := c.App.Writer
	_, _, err = nn.Evaluate(net, set, nil, func(batchIdx []int) error {
		z, err := net.Logits()
		if err != nil {
			return err
		}
		for i, idx := range batchIdx {
			class, prob := softmaxTop(z[i*model.Classes : (i+1)*model.Classes])
			note := ""
			if inverted[idx] {
				note = " (inverted: dark digit on light ground)"
			}
			fmt.Fprintf(w, "%s: %d (probability %.4f)%s\n", paths[idx], class, prob, note)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("classify %d images with %s: %w", len(paths), c.String("run"), err)
	}
	return nil
}

func softmaxTop(z []float32) (int, float64) {
	best := 0
	for j := range z {
		if z[j] > z[best] {
			best = j
		}
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v - z[best]))
	}
	return best, 1 / sum
}

// readDigit decodes an image file into 28x28 grayscale MNIST pixels.
func readDigit(path string) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, false, fmt.Errorf("%s: not a PNG or JPEG image: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 8 || b.Dy() < 8 || b.Dx() > 4096 || b.Dy() > 4096 {
		return nil, false, fmt.Errorf("%s: %dx%d is not a digit image (want 28x28, or between 8 and 4096 pixels a side)", path, b.Dx(), b.Dy())
	}
	gray := image.NewGray(image.Rect(0, 0, mnist.Cols, mnist.Rows))
	draw.CatmullRom.Scale(gray, gray.Bounds(), img, b, draw.Src, nil)
	// MNIST digits are light on a dark ground; a light border means the
	// opposite, so invert.
	var border, count int
	for y := 0; y < mnist.Rows; y++ {
		for x := 0; x < mnist.Cols; x++ {
			if x == 0 || y == 0 || x == mnist.Cols-1 || y == mnist.Rows-1 {
				border += int(gray.Pix[y*gray.Stride+x])
				count++
			}
		}
	}
	invert := border/count > 127
	px := make([]byte, mnist.Pixels)
	for y := 0; y < mnist.Rows; y++ {
		for x := 0; x < mnist.Cols; x++ {
			v := gray.Pix[y*gray.Stride+x]
			if invert {
				v = 255 - v
			}
			px[y*mnist.Cols+x] = v
		}
	}
	return px, invert, nil
}

func plotCommand() *cli.Command {
	return &cli.Command{
		Name:      "plot",
		Usage:     "draw the loss and accuracy of several runs on the same axes",
		UsageText: "vkcnn plot --out cmp.png RUN_DIR...",
		Description: "Each run in its colour: training loss and accuracy smoothed from its steps.csv\n" +
			"(per epoch from history.csv for runs without one), validation as points.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "PNG file to write"},
		},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			dirs := c.Args().Slice()
			if len(dirs) == 0 {
				return fmt.Errorf("no run folders given (vkcnn plot --out cmp.png RUN_DIR...)")
			}
			var runs []report.Run
			for _, d := range dirs {
				r, err := readRun(d)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			if err := report.ComparePlot(c.String("out"), runs); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Wrote %s\n", c.String("out"))
			return nil
		},
	}
}
