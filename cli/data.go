package cli

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/runfolder"
)

var dataFlag = &cli.StringFlag{
	Name: "data",
	Usage: "data set folder: IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST) or CIFAR-10's binary batches " +
		"(default: $VKCNN_DATA, else ./" + dataset.DefaultDir + ", which ./build.sh data fills with MNIST)",
}

// loadData reads the data set of --data.
func loadData(c *cli.Context) (*dataset.Dataset, error) {
	return dataset.Load(dataset.Dir(c.String("data")))
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
		Classes: d.Classes, Names: d.Names, Train: d.Train.N, Test: d.Test.N}
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
