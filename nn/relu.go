package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("relu", kind{class: "ReLU", prefix: "relu", build: buildReLU,
		keras: map[string][]string{"max_value": {"null"}, "negative_slope": {"0"}, "threshold": {"0"}}})
}

// relu is max(0, x) as a layer of its own (conv2d and dense fuse theirs).
type relu struct{}

func buildReLU(b *builder) (recorder, error) {
	b.l.Out = b.in()
	return relu{}, nil
}

// The gradient is cut in place where the output is zero.
func (relu) needs(int, bool, kernels.Tuning) needs { return needs{gradientInPlace: true} }
func (relu) products(int, bool) []product          { return nil }

func (relu) forward(p *pass) error {
	_, out := p.values()
	return kernels.ReLU(p.ctx(), p.rec, p.in, p.out, out)
}

func (relu) backward(p *pass) error {
	if err := p.reluBackward(); err != nil {
		return err
	}
	return p.mark("backward")
}
