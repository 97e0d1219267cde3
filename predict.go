package vkcnn

import (
	"fmt"
	"image"
	"math"
	"sync"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
)

// PredictOptions set up a Predictor.
type PredictOptions struct {
	// Batch is how many images one device submission classifies: a
	// call with more takes several, one with fewer pads the batch. Zero
	// is DefaultPredictBatch.
	Batch int
	// Precision is the arithmetic of the convolutions and dense
	// products (zero: fp32).
	Precision kernels.Precision
}

// DefaultPredictBatch is the batch of a Predictor made with none.
const DefaultPredictBatch = 64

// Predictor classifies images with a run on a device. Its buffers and
// recorded commands are made once; it is safe for concurrent use (calls
// take turns). Close it before the device.
type Predictor struct {
	run *Run
	mu  sync.Mutex
	net *nn.Net
	set *nn.DeviceSet
	// inputs takes PredictNHWC's values, made on its first call.
	inputs *nn.DeviceSet
}

// Prediction is one image's class.
type Prediction struct {
	Class int
	// Name is the class's name where the run's data set has them.
	Name string
	// Probability is the softmax of Class; Probabilities has every
	// class's, Logits the outputs before the softmax.
	Probability   float64
	Probabilities []float64
	Logits        []float32
	// Inverted says Predict inverted the image: it was dark on a light
	// ground, where the run's images are light on dark (Run.Input).
	Inverted bool
}

// NewPredictor puts the run's network on the device.
func (d *Device) NewPredictor(r *Run, opts PredictOptions) (*Predictor, error) {
	if err := r.checkChannels(); err != nil {
		return nil, err
	}
	batch := opts.Batch
	if batch == 0 {
		batch = DefaultPredictBatch
	}
	if batch < 0 {
		return nil, badInput(fmt.Errorf("batch size %d must be positive", batch))
	}
	if err := kernels.CheckPrecision(d.ctx.Info, opts.Precision); err != nil {
		return nil, badInput(fmt.Errorf("precision %s: %w", opts.Precision, err))
	}
	tuning, err := kernels.LoadTuning(d.ctx.Info, opts.Precision)
	if err != nil {
		d.warn(fmt.Errorf("%w; using the default kernels", err))
	}
	net, err := nn.NewNet(d.ctx, r.Model, batch, tuning, r.Params, batch)
	if err != nil {
		return nil, err
	}
	set, err := net.Upload(make([]byte, batch*r.Model.Input().Size()), make([]uint8, batch))
	if err != nil {
		net.Close()
		return nil, err
	}
	set.Norm = r.Record.Normalize
	return &Predictor{run: r, net: net, set: set}, nil
}

// Close frees the predictor's buffers.
func (p *Predictor) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.net.Close()
}

// Batch is how many images one device submission classifies.
func (p *Predictor) Batch() int { return p.net.Batch }

// Predict classifies images, each made the model's input by Run.Input.
func (p *Predictor) Predict(images ...image.Image) ([]Prediction, error) {
	size := p.run.Model.Input().Size()
	px := make([]byte, 0, len(images)*size)
	inverted := make([]bool, len(images))
	for i, img := range images {
		in, inv, err := p.run.Input(img)
		if err != nil {
			return nil, err
		}
		px, inverted[i] = append(px, in...), inv
	}
	out, err := p.PredictPixels(px)
	for i := range out {
		out[i].Inverted = inverted[i]
	}
	return out, err
}

// PredictPixels classifies images given as the model's input: HWC bytes,
// Input's output, one image after another.
func (p *Predictor) PredictPixels(px []byte) ([]Prediction, error) {
	size := p.run.Model.Input().Size()
	if len(px) == 0 || len(px)%size != 0 {
		return nil, badInput(fmt.Errorf("%d input bytes: want a positive multiple of %d, the model's %v input", len(px), size, p.run.Model.Input().Geometry()))
	}
	n := len(px) / size
	out, err := p.batches(n, func(first, count int) (*nn.DeviceSet, error) {
		return p.set, p.set.Rewrite(px[first*size : (first+count)*size])
	})
	if err != nil {
		return nil, fmt.Errorf("classify %d images with %s: %w", n, p.run.Dir, err)
	}
	return out, nil
}

// PredictNHWC classifies images given as float32 values in [0, 1] (a
// byte's value / 255), HWC, one image after another, at the model's input
// size: the ONNX export's input, but channels last. The run's
// normalization is applied as the device applies it, so the bytes b and
// the values float32(b) / 255 give the same logits.
func (p *Predictor) PredictNHWC(x []float32) ([]Prediction, error) {
	in := p.run.Model.Input()
	size := in.Size()
	if len(x) == 0 || len(x)%size != 0 {
		return nil, badInput(fmt.Errorf("%d input values: want a positive multiple of %d, the model's %v input", len(x), size, in.Geometry()))
	}
	values := x
	if norm := p.run.Record.Normalize; norm != nil {
		values = append([]float32(nil), x...)
		norm.Apply(values, in.C)
	}
	n := len(x) / size
	out, err := p.batches(n, func(first, count int) (*nn.DeviceSet, error) {
		if p.inputs == nil {
			set, err := p.net.UploadInputs()
			if err != nil {
				return nil, err
			}
			p.inputs = set
		}
		return p.inputs, p.inputs.SetInputs(values[first*size : (first+count)*size])
	})
	if err != nil {
		return nil, fmt.Errorf("classify %d images with %s: %w", n, p.run.Dir, err)
	}
	return out, nil
}

// batches classifies n images, a batch a submission; fill puts images
// first to first+count on a set and returns the set.
func (p *Predictor) batches(n int, fill func(first, count int) (*nn.DeviceSet, error)) ([]Prediction, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	classes, batch := p.run.Model.Classes, p.net.Batch
	out := make([]Prediction, 0, n)
	for first := 0; first < n; first += batch {
		count := min(batch, n-first)
		set, err := fill(first, count)
		if err != nil {
			return nil, err
		}
		indices := make([]int, count)
		for i := range indices {
			indices[i] = i
		}
		if err := p.net.Step(set, nn.ModeEval, augment.Sampling{}, nn.Feed{Indices: indices}); err != nil {
			return nil, err
		}
		z, err := p.net.Logits()
		if err != nil {
			return nil, err
		}
		for i := range count {
			out = append(out, p.prediction(z[i*classes:(i+1)*classes]))
		}
	}
	return out, nil
}

// prediction is the class of logits z and the softmax, computed in
// float64 from the largest logit.
func (p *Predictor) prediction(z []float32) Prediction {
	best := 0
	for j := range z {
		if z[j] > z[best] {
			best = j
		}
	}
	probs := make([]float64, len(z))
	var sum float64
	for j, v := range z {
		probs[j] = math.Exp(float64(v - z[best]))
		sum += probs[j]
	}
	for j := range probs {
		probs[j] /= sum
	}
	pred := Prediction{Class: best, Probability: 1 / sum, Probabilities: probs, Logits: z}
	if names := p.run.ClassNames(); best < len(names) {
		pred.Name = names[best]
	}
	return pred
}
