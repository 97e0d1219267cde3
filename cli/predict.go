package cli

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // predict reads JPEG images too
	_ "image/png"
	"io/fs"
	"math"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/image/draw"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/runfolder"
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
	// The class names, normalization and image reading the run recorded.
	rec, err := runfolder.ReadRecord(c.String("run"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var names []string
	folder := false
	if rec.Data != nil {
		names, folder = rec.Data.Names, rec.Data.Color != ""
	}
	images := make([]byte, 0, len(paths)*g.Values())
	inverted := make([]bool, len(paths))
	for i, p := range paths {
		var px []byte
		if folder {
			px, err = dataset.ReadImage(p, g)
		} else {
			px, inverted[i], err = readImage(p, g)
		}
		if err != nil {
			return err
		}
		images = append(images, px...)
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
	set.Norm = rec.Normalize
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
