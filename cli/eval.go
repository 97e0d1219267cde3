package cli

import (
	"bufio"
	"fmt"
	"image"
	_ "image/jpeg" // predict reads JPEG images too
	_ "image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/urfave/cli/v2"
	"golang.org/x/image/draw"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "test a trained run: loss, accuracy, error and the confusion matrix",
		UsageText: "vkcnn eval --run DIR [--data DIR] [--logits FILE.npy] [--batch-size N] [--device D]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			&cli.StringFlag{Name: "logits", Usage: "write the test samples x classes float32 pre-softmax outputs, in test-file order, as .npy"},
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
	model, params, err := runfolder.Load(c.String("run"))
	if err != nil {
		return err
	}
	data, err := loadData(c)
	if err != nil {
		return err
	}
	if err := checkModel(filepath.Join(c.String("run"), runfolder.ModelFile), model, data); err != nil {
		return err
	}
	test := data.Test
	ctx, net, err := openNet(c, model, params, c.Int("batch-size"), test.N)
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
	fmt.Fprintf(w, "Data: %s\n", data)
	fmt.Fprintf(w, "Test loss: %.4f\nTest accuracy: %.4f\nTest error: %.2f%%\n", loss, acc, 100*(1-acc))
	fmt.Fprintln(w, "Confusion matrix (rows: true class, columns: predicted):")
	fmt.Fprint(w, confusionTable(confusion, data.Names))
	if path := c.String("logits"); path != "" {
		if err := atomicfile.Write(path, func(w io.Writer) error { return npy.Write(w, logits) }); err != nil {
			return fmt.Errorf("write logits: %w", err)
		}
		fmt.Fprintf(w, "Wrote %s (%d x %d float32)\n", path, len(logits), classes)
	}
	return nil
}

// confusionTable lays out the confusion matrix, each row headed by its
// class's number and name where names has one.
func confusionTable(confusion [][]int, names []string) string {
	heads := make([]string, len(confusion))
	headWidth, width := 0, 6
	for i, row := range confusion {
		heads[i] = numberedClass(names, i)
		headWidth = max(headWidth, len(heads[i]))
		for _, n := range row {
			width = max(width, len(fmt.Sprint(n))+1)
		}
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", headWidth))
	for j := range confusion {
		fmt.Fprintf(&b, "%*d", width, j)
	}
	b.WriteString("\n")
	for i, row := range confusion {
		fmt.Fprintf(&b, "%-*s", headWidth, heads[i])
		for _, n := range row {
			fmt.Fprintf(&b, "%*d", width, n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify images with a trained run",
		UsageText: "vkcnn predict --run DIR [--device D] IMAGE.png...",
		Description: "Each image is scaled to the model's input size. A model of one channel\n" +
			"reads it as grayscale, inverted when its border is light (MNIST-style data is\n" +
			"light on dark); a model of three reads it as RGB.",
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
	model, params, err := runfolder.Load(c.String("run"))
	if err != nil {
		return err
	}
	g := model.Input().Geometry()
	if g.Channels != 1 && g.Channels != 3 {
		return fmt.Errorf("predict reads images as grayscale (1 channel) or RGB (3), the model in %s takes %d channels", c.String("run"), g.Channels)
	}
	images := make([]byte, 0, len(paths)*g.Values())
	inverted := make([]bool, len(paths))
	for i, p := range paths {
		px, inv, err := readImage(p, g)
		if err != nil {
			return err
		}
		images = append(images, px...)
		inverted[i] = inv
	}
	// The class names, where the run recorded its data set's.
	var names []string
	if rec, err := runfolder.ReadRecord(c.String("run")); err == nil && rec.Data != nil {
		names = rec.Data.Names
	}
	batch := min(len(paths), 64)
	ctx, net, err := openNet(c, model, params, batch, len(paths))
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
				note = " (inverted: dark on a light ground)"
			}
			fmt.Fprintf(w, "%s: %s (probability %.4f)%s\n", paths[idx], numberedClass(names, class), prob, note)
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

// maxImageSide bounds the images predict reads.
const maxImageSide = 4096

// readImage decodes an image file into an input of g: scaled to its size,
// HWC; grayscale for one channel, inverted when its border is light
// (MNIST-style data is light on dark), which it reports; RGB for three.
func readImage(path string, g augment.Geometry) ([]byte, bool, error) {
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
	if b.Dx() > maxImageSide || b.Dy() > maxImageSide {
		return nil, false, fmt.Errorf("%s: %dx%d pixels, more than %d a side (the model takes %dx%d)", path, b.Dx(), b.Dy(), maxImageSide, g.Width, g.Height)
	}
	if g.Channels == 3 {
		rgba := image.NewRGBA(image.Rect(0, 0, g.Width, g.Height))
		draw.CatmullRom.Scale(rgba, rgba.Bounds(), img, b, draw.Src, nil)
		px := make([]byte, 0, g.Values())
		for i := 0; i < len(rgba.Pix); i += 4 {
			px = append(px, rgba.Pix[i:i+3]...)
		}
		return px, false, nil
	}
	gray := image.NewGray(image.Rect(0, 0, g.Width, g.Height))
	draw.CatmullRom.Scale(gray, gray.Bounds(), img, b, draw.Src, nil)
	var border, count int
	for y := range g.Height {
		for x := range g.Width {
			if x == 0 || y == 0 || x == g.Width-1 || y == g.Height-1 {
				border += int(gray.Pix[y*gray.Stride+x])
				count++
			}
		}
	}
	invert := border/count > 127
	px := make([]byte, g.Values())
	for y := range g.Height {
		for x := range g.Width {
			v := gray.Pix[y*gray.Stride+x]
			if invert {
				v = 255 - v
			}
			px[y*g.Width+x] = v
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
