package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

var dataFlag = &cli.StringFlag{
	Name: "data",
	Usage: "data set folder: IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST), CIFAR-10's binary batches, " +
		"x_train.npy, y_train.npy, x_test.npy and y_test.npy, or images in train/CLASS/ and test/CLASS/ (or val/) folders, " +
		"or in CLASS/ folders with --val-split; or a FILE.npz of those arrays, as Keras' mnist.npz " +
		"(default: $VKCNN_DATA, else ./" + dataset.DefaultDir + ", which ./build.sh data fills with MNIST)",
}

// imageFlags say how train and augment read a folder of images; eval,
// predict and --resume read it as the run did.
func imageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image-size", Usage: "resize a folder's images to HxW: bilinear, no antialiasing, as TensorFlow's default (without it every image must have one size)"},
		&cli.StringFlag{Name: "color", Usage: "read a folder's images as grayscale (0.299 R + 0.587 G + 0.114 B) or rgb (alpha dropped)", DefaultText: "grayscale where every image is stored so, else rgb"},
	}
}

// imageOptions reads --image-size and --color.
func imageOptions(c *cli.Context) (dataset.Options, error) {
	var opts dataset.Options
	var err error
	if s := c.String("image-size"); s != "" {
		if opts.Size, err = dataset.ParseSize(s); err != nil {
			return opts, err
		}
	}
	opts.Color, err = dataset.ParseColor(c.String("color"))
	return opts, err
}

// recordedOptions are the options of the run recorded in rec: its image
// size and colour, seed and validation split.
func recordedOptions(rec runfolder.Record) (dataset.Options, error) {
	var opts dataset.Options
	opts.Seed, opts.ValSplit = rec.Config.Seed, rec.Config.ValSplit
	if rec.Data == nil {
		return opts, nil
	}
	var err error
	if rec.Data.ImageSize != "" {
		if opts.Size, err = dataset.ParseSize(rec.Data.ImageSize); err != nil {
			return opts, fmt.Errorf("run.json: %w", err)
		}
	}
	opts.Color, err = dataset.ParseColor(rec.Data.Color)
	return opts, err
}

// loadData reads the data set of --data, an image folder as opts say,
// drawing a bar on a terminal while it decodes one.
func loadData(c *cli.Context, opts dataset.Options) (*dataset.Dataset, error) {
	opts.Log = c.App.ErrWriter
	if f, ok := c.App.ErrWriter.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts.Bar = true
	}
	return dataset.LoadWith(dataset.Dir(c.String("data")), opts)
}

// checkModel checks a model against the data set before any work: its
// input_shape against the images, its output layer against the classes.
// name is the model's file, or a preset's name.
func checkModel(name string, m *nn.Model, d *dataset.Dataset) error {
	in, g := m.Input().Geometry(), d.Geometry
	if in == g && m.Classes == d.Classes {
		return nil
	}
	if slices.Contains(nn.Presets, name) {
		return fmt.Errorf("the %s preset is MNIST-shaped (%s images, %d classes), %s holds %s images of %d classes: "+
			"train a model.json with input_shape %s and a last dense layer of %d units (see docs/models.md)",
			name, in, m.Classes, d.Dir, g, d.Classes, inputShape(g), d.Classes)
	}
	if in != g {
		return fmt.Errorf("%s: input_shape %s does not match the %s images of %s (input_shape %s)", name, inputShape(in), g, d.Dir, inputShape(g))
	}
	return fmt.Errorf("%s: the last layer has %d units, %s holds %d classes", name, m.Classes, d.Dir, d.Classes)
}

// inputShape writes a geometry as model.json's input_shape.
func inputShape(g augment.Geometry) string {
	return fmt.Sprintf("[%d, %d, %d]", g.Height, g.Width, g.Channels)
}

// recordData is run.json's account of a data set.
func recordData(d *dataset.Dataset) *runfolder.Data {
	g := d.Geometry
	return &runfolder.Data{Dir: d.Dir, Format: d.Format, Height: g.Height, Width: g.Width, Channels: g.Channels,
		Classes: d.Classes, Names: d.Names, Train: d.Train.N, Test: d.Test.N, ImageSize: d.Size.String(), Color: d.Color.String()}
}

// className is class c's name where names has one, else its number.
func className(names []string, c int) string {
	if c < len(names) && names[c] != "" {
		return names[c]
	}
	return fmt.Sprint(c)
}

// numberedClass is class c's number, and its name where names has one.
func numberedClass(names []string, c int) string {
	if name := className(names, c); name != fmt.Sprint(c) {
		return fmt.Sprintf("%d %s", c, name)
	}
	return fmt.Sprint(c)
}

// normalizeFlags are train's: the inputs' normalization.
func normalizeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "normalize", Usage: "subtract a per-channel mean and divide by a standard deviation, computed from the training set " +
			"(less a --val-split) unless --mean and --std give them; run.json records them, and eval, predict and the ONNX export apply them"},
		&cli.StringFlag{Name: "mean", Usage: "--normalize's per-channel means of pixels in [0, 1], comma-separated (as 0.4914,0.4822,0.4465)"},
		&cli.StringFlag{Name: "std", Usage: "--normalize's per-channel standard deviations, comma-separated (as 0.2470,0.2435,0.2616)"},
	}
}

// normalization is the normalization a run feeds its inputs through:
// a resumed run's own, else --normalize's (nil: none), for samples of
// the training set, those held out for validation left out.
func normalization(c *cli.Context, setup *trainSetup, data *dataset.Dataset) (*augment.Normalization, error) {
	if setup.resume != nil {
		rec, err := runfolder.ReadRecord(setup.out)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return rec.Normalize, nil
	}
	mean, std := c.String("mean"), c.String("std")
	if !c.Bool("normalize") {
		if mean != "" || std != "" {
			return nil, errors.New("--mean and --std are --normalize's: give --normalize too")
		}
		return nil, nil
	}
	channels := data.Geometry.Channels
	var n augment.Normalization
	switch {
	case mean == "" && std == "":
		train := data.Train.N - int(float64(data.Train.N)*setup.cfg.ValSplit)
		n = augment.Statistics(data.Train.Images[:train*data.Geometry.Values()], channels)
	case mean == "" || std == "":
		return nil, errors.New("--normalize takes --mean and --std together, or neither (to compute them from the training set)")
	default:
		var err error
		if n.Mean, err = floatList("--mean", mean); err != nil {
			return nil, err
		}
		if n.Std, err = floatList("--std", std); err != nil {
			return nil, err
		}
	}
	if err := n.Check(channels); err != nil {
		return nil, fmt.Errorf("--normalize: %w", err)
	}
	return &n, nil
}

// floatList reads comma-separated numbers.
func floatList(flag, s string) ([]float32, error) {
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want numbers separated by commas", flag, s)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

var streamFlag = &cli.BoolFlag{Name: "stream", Usage: "keep the data set's images on the host and copy each step's batch to the device, bit for bit as resident " +
	"(without it, a set streams where it passes the augment shader's bindings or half the device's memory)"}

// streamed says whether a set of n images, of sets of total images in
// all, trains streamed: where --stream asks, or where it would not fit the
// augment shader's bindings or half the device's memory.
func streamed(c *cli.Context, info vk.DeviceInfo, in nn.Shape, n, total int) bool {
	return c.Bool("stream") || kernels.CheckDataSet(info, n, in.Geometry()) != nil ||
		info.DeviceLocalBytes > 0 && nn.DataBytes(in, total) > int64(info.DeviceLocalBytes/2)
}

// upload puts a set on the device, streamed or resident.
func upload(net *nn.Net, set *dataset.Set, stream bool) (*nn.DeviceSet, error) {
	if stream {
		return net.UploadStreamed(set.Images, set.Labels)
	}
	return net.Upload(set.Images, set.Labels)
}

// streamedLine says which sets stream, under the Data: line.
func streamedLine(stream [2]bool, valSplit float64) string {
	return fmt.Sprintf("Streamed: the images stay on the host, each step's batch copied to the device (%s)", streamedSets(stream, valSplit))
}

// streamedSets names the sets that stream.
func streamedSets(stream [2]bool, valSplit float64) string {
	switch {
	case stream[0] && stream[1] && valSplit == 0:
		return "the training and test sets"
	case stream[0]:
		return "the training set"
	}
	return "the test set"
}
