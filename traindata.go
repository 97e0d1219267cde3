package vkcnn

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

// trainingData reads the data set and checks the model against it, and a
// resumed run's data set against the one it trained on.
func (setup *trainSetup) trainingData() (*dataset.Dataset, error) {
	var rec runfolder.Record
	opts := setup.imageOpts
	var err error
	if setup.resume != nil {
		if rec, err = runfolder.ReadRecord(setup.out); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		opts, err = recordedOptions(rec)
	}
	if err != nil {
		return nil, err
	}
	opts.Seed, opts.ValSplit = setup.cfg.Seed, setup.cfg.ValSplit
	data, err := loadData(setup.TrainSession, opts)
	if err != nil {
		return nil, err
	}
	if setup.resume != nil {
		if rec.Data != nil && !rec.Data.SameShape(recordData(data)) {
			return nil, fmt.Errorf("--resume %s: the run trained on %s (%s); %s holds %s", setup.out, rec.Data, rec.Data.Dir, data.Dir, recordData(data))
		}
	}
	if setup.resume == nil && nn.DataShaped(setup.source) {
		// The preset takes the data set's images and classes.
		g := data.Geometry
		if setup.spec, err = nn.PresetFor(setup.source, [3]int{g.Height, g.Width, g.Channels}, data.Classes); err != nil {
			return nil, err
		}
		if setup.model, err = nn.Build(setup.spec); err != nil {
			return nil, fmt.Errorf("%s for %s: %w", setup.source, data.Dir, err)
		}
	}
	return data, checkModel(setup.source, setup.model, data)
}

// loadData reads the session's data set, an image folder as opts say,
// drawing a bar on Warnings while it decodes one where Bars asks.
func loadData(s TrainSession, opts dataset.Options) (*dataset.Dataset, error) {
	opts.Log, opts.Bar = writer(s.Warnings), s.Bars
	return dataset.LoadWith(dataset.Dir(s.Data), opts)
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

// checkNormalize refuses a mean or standard deviation without
// normalization, or one without the other.
func checkNormalize(opts TrainOptions) error {
	given := opts.Mean != nil || opts.Std != nil
	switch {
	case !opts.Normalize && given:
		return errors.New("--mean and --std are --normalize's: give --normalize too")
	case opts.Normalize && given && (opts.Mean == nil || opts.Std == nil):
		return errors.New("--normalize takes --mean and --std together, or neither (to compute them from the training set)")
	}
	return nil
}

// normalization is the normalization a run feeds its inputs through:
// a resumed run's own, else Normalize's (nil: none), for samples of
// the training set, those held out for validation left out.
func (setup *trainSetup) normalization(data *dataset.Dataset) (*augment.Normalization, error) {
	if setup.resume != nil {
		rec, err := runfolder.ReadRecord(setup.out)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return rec.Normalize, nil
	}
	if !setup.normalize {
		return nil, nil
	}
	channels := data.Geometry.Channels
	n := augment.Normalization{Mean: setup.mean, Std: setup.std}
	if setup.mean == nil {
		train := data.Train.N - int(float64(data.Train.N)*setup.cfg.ValSplit)
		n = augment.Statistics(data.Train.Images[:train*data.Geometry.Values()], channels)
	}
	if err := n.Check(channels); err != nil {
		return nil, fmt.Errorf("--normalize: %w", err)
	}
	return &n, nil
}

// streamed says whether a set of n images, of sets of total images in
// all, trains streamed: where Stream asks, or where it would not fit the
// augment shader's bindings or half the device's memory.
func streamed(stream bool, info vk.DeviceInfo, in nn.Shape, n, total int) bool {
	return stream || kernels.CheckDataSet(info, n, in.Geometry()) != nil ||
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

// deviceData is what a run trains and validates on, on the device.
type deviceData struct {
	train, val *nn.DeviceSet // val: nil where it is the training set's last part
	samples    int           // the training samples, less those held out
	valDesc    string
}

// uploadData puts the training set on the device, and the test set where
// the run validates on it rather than on the last --val-split of the
// training set.
func uploadData(net *nn.Net, cfg nn.TrainConfig, trainData, testData *dataset.Set, stream [2]bool) (deviceData, error) {
	held := int(float64(trainData.N) * cfg.ValSplit)
	d := deviceData{samples: trainData.N - held, valDesc: fmt.Sprintf("validate on %d test samples", testData.N)}
	var err error
	if d.train, err = upload(net, trainData, stream[0]); err != nil {
		return d, err
	}
	if cfg.ValSplit != 0 {
		d.valDesc = fmt.Sprintf("validate on the last %d training samples", held)
		return d, nil
	}
	d.val, err = upload(net, testData, stream[1])
	return d, err
}
