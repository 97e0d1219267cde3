package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("relu", kind{class: "ReLU", prefix: "relu", build: buildReLU,
		keras: map[string][]string{"max_value": {"null"}, "negative_slope": {"0"}, "threshold": {"0"}}})
}

// relu is max(0, x) as a layer of its own (conv2d and dense fuse theirs).
// A fused one is run by the layer before it (see Model.fuse) and passes
// its input on.
type relu struct{ fused bool }

func buildReLU(b *builder) (recorder, error) {
	b.l.Out = b.in()
	return relu{}, nil
}

// The gradient is cut in place where the output is zero.
func (r relu) needs(int, bool, kernels.Tuning) needs {
	return needs{passesOn: r.fused, gradientInPlace: true}
}
func (relu) products(int, bool) []product { return nil }

func (r relu) forward(p *pass) error {
	if r.fused {
		return nil
	}
	_, out := p.values()
	return kernels.ReLU(p.ctx(), p.rec, p.in, p.out, out)
}

func (r relu) backward(p *pass) error {
	if r.fused {
		return nil
	}
	if err := p.reluBackward(); err != nil {
		return err
	}
	return p.mark("backward")
}
