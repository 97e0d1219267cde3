package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("flatten", kind{class: "Flatten", prefix: "flatten", flat: true, build: buildFlatten})
}

// flatten views its input as a vector: NHWC values are already in Keras'
// flatten order, so it records nothing.
type flatten struct{}

func buildFlatten(b *builder) (recorder, error) {
	b.l.Out = Shape{1, 1, b.in().Size()}
	return flatten{}, nil
}

func (flatten) needs(int, bool, kernels.Tuning) needs {
	return needs{passesOn: true, gradientInPlace: true}
}
func (flatten) products(int, bool) []product { return nil }
func (flatten) forward(*pass) error          { return nil }
func (flatten) backward(*pass) error         { return nil }
