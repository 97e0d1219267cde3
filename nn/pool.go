package nn

import (
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

// pool2dKeras are the Keras pooling settings the pooling kinds implement.
var pool2dKeras = map[string][]string{"pool_size": {"[2,2]"}, "strides": {"[2,2]", "null"}, "padding": {`"valid"`}}

// pool2d is what the pooling kinds share: 2x2 windows, stride 2, "valid"
// (a trailing odd row or column is dropped); no parameters, no products.
type pool2d struct{ in Shape }

func newPool2D(b *builder) (pool2d, error) {
	in := b.in()
	if in.H < 2 || in.W < 2 {
		return pool2d{}, fmt.Errorf("input %v is too small to pool", in)
	}
	b.l.Out = Shape{in.H / 2, in.W / 2, in.C}
	return pool2d{in}, nil
}

func (pool2d) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (pool2d) products(int, bool) []product          { return nil }

// inputGradient records the input gradient, where the layer has one to
// compute, with record(batch, h, w, c).
func (q pool2d) inputGradient(p *pass, record func(batch, h, w, c int) error) error {
	if !p.inputGradient() {
		return nil
	}
	if err := record(p.batch(), q.in.H, q.in.W, q.in.C); err != nil {
		return err
	}
	return p.mark("backward")
}
