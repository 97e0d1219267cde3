package vkcnn

import (
	"errors"
	"fmt"
	"image"
	"io/fs"

	"golang.org/x/image/draw"

	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/onnx"
	"github.com/vkcnn/vkcnn/runfolder"
)

// Run is a trained run folder, as vkcnn train leaves it: the model, its
// weights and how it was trained.
type Run struct {
	Dir    string
	Model  *nn.Model
	Params []float32
	// Record is run.json: the data set (class names, how an image folder
	// was read) and normalization; zero in runs from before it existed.
	Record runfolder.Record
}

// LoadRun reads a run folder's model, weights and run.json.
func LoadRun(dir string) (*Run, error) {
	model, params, err := runfolder.Load(dir)
	if err != nil {
		return nil, badInput(err)
	}
	rec, err := runfolder.ReadRecord(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, badInput(err)
	}
	return &Run{Dir: dir, Model: model, Params: params, Record: rec}, nil
}

// Classes is the number of classes the model tells apart.
func (r *Run) Classes() int { return r.Model.Classes }

// ClassNames are the classes' names where the run's data set has them
// (nil otherwise): the name of class j is the j-th.
func (r *Run) ClassNames() []string {
	if r.Record.Data == nil {
		return nil
	}
	return r.Record.Data.Names
}

// ReadImage decodes an image file: PNG, JPEG, GIF, BMP or WebP.
func ReadImage(path string) (image.Image, error) {
	img, err := dataset.DecodeFile(path)
	return img, badInput(err)
}

// MaxImageSide bounds the images Input scales (those of runs not trained
// on an image folder).
const MaxImageSide = 4096

// Input turns an image into the model's input, HWC bytes, as vkcnn
// predict does. For a run trained on an image folder, it is read as
// training read the folder: converted to the run's colour, resized
// (bilinear, no antialiasing), never inverted. Otherwise it is scaled to
// the model's input size (Catmull-Rom), as grayscale for a model of one
// channel, inverted when its border is light (MNIST-style data is light
// on dark; inverted says so), or as RGB for a model of three.
// Normalization is the device's, when the run has one.
func (r *Run) Input(img image.Image) (px []byte, inverted bool, err error) {
	if err := r.checkChannels(); err != nil {
		return nil, false, err
	}
	g := r.Model.Input().Geometry()
	b := img.Bounds()
	if r.Record.Data != nil && r.Record.Data.Color != "" {
		size := dataset.Size{Height: g.Height, Width: g.Width}
		return dataset.Resize(dataset.Pixels(img, g.Channels), b.Dy(), b.Dx(), g.Channels, size), false, nil
	}
	if b.Dx() > MaxImageSide || b.Dy() > MaxImageSide {
		return nil, false, badInput(fmt.Errorf("%dx%d pixels, more than %d a side (the model takes %dx%d)", b.Dx(), b.Dy(), MaxImageSide, g.Width, g.Height))
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
	px = make([]byte, g.Values())
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

// checkChannels says why images cannot be the model's input.
func (r *Run) checkChannels() error {
	if c := r.Model.Input().C; c != 1 && c != 3 {
		return badInput(fmt.Errorf("predict reads images as grayscale (1 channel) or RGB (3), the model in %s takes %d channels", r.Dir, c))
	}
	return nil
}

// ExportONNX writes the run's inference graph as an ONNX model (see the
// onnx package): input float32 NCHW pixels in [0, 1], outputs the softmax
// and the logits; the run's normalization in the graph, its class names
// in the metadata.
func (r *Run) ExportONNX(path string) error {
	return onnx.WriteFile(path, r.Model, r.Params, onnx.Data{ClassNames: r.ClassNames(), Normalization: r.Record.Normalize})
}
