package nn

import (
	"errors"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("globalavgpool2d", kind{class: "GlobalAveragePooling2D", prefix: "global_average_pooling2d", flat: true, build: buildGlobalAvgPool2D,
		keras: map[string][]string{"keepdims": {"false"}}})
}

// globalAvgPool2D averages each channel over the image, to a vector.
type globalAvgPool2D struct{ in Shape }

func buildGlobalAvgPool2D(b *builder) (recorder, error) {
	if b.flat {
		return nil, errors.New("global pooling after flatten or dense: its input is a vector")
	}
	in := b.in()
	b.l.Out = Shape{1, 1, in.C}
	return &globalAvgPool2D{in}, nil
}

func (*globalAvgPool2D) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (*globalAvgPool2D) products(int, bool) []product          { return nil }

func (g *globalAvgPool2D) forward(p *pass) error {
	return kernels.GlobalAvgPool(p.ctx(), p.rec, p.in, p.out, p.batch(), g.in.H*g.in.W, g.in.C)
}

func (g *globalAvgPool2D) backward(p *pass) error {
	if !p.inputGradient() {
		return nil
	}
	if err := kernels.GlobalAvgPoolBackward(p.ctx(), p.rec, p.dOut, p.dIn, p.batch(), g.in.H*g.in.W, g.in.C); err != nil {
		return err
	}
	return p.mark("backward")
}
