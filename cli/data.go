package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/vkcnn/vkcnn/dataset"
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

// loadData reads the data set of --data, an image folder as opts say,
// drawing a bar on a terminal while it decodes one.
func loadData(c *cli.Context, opts dataset.Options) (*dataset.Dataset, error) {
	opts.Log, opts.Bar = c.App.ErrWriter, barsOnStderr(c)
	return dataset.LoadWith(dataset.Dir(c.String("data")), opts)
}

// barsOnStderr says whether the command draws progress bars: where its
// stderr is a terminal.
func barsOnStderr(c *cli.Context) bool {
	f, ok := c.App.ErrWriter.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
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
