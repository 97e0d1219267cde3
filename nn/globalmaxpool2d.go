package nn

import (
	"errors"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("globalmaxpool2d", kind{class: "GlobalMaxPooling2D", prefix: "global_max_pooling2d", flat: true, build: buildGlobalMaxPool2D,
		keras: map[string][]string{"keepdims": {"false"}}})
}

// globalMaxPool2D takes each channel's maximum over the image, to a
// vector: max pooling in one window the image's size, whose first
// maximum takes the gradient.
type globalMaxPool2D struct{ pool2d }

func buildGlobalMaxPool2D(b *builder) (recorder, error) {
	if b.flat {
		return nil, errors.New("global pooling after flatten or dense: its input is a vector")
	}
	in := b.in()
	b.l.Out = Shape{1, 1, in.C}
	g := &kernels.Window{H: in.H, W: in.W, C: in.C, OH: 1, OW: 1, KH: in.H, KW: in.W, SH: in.H, SW: in.W}
	return &globalMaxPool2D{pool2d{in, g}}, nil
}

func (g *globalMaxPool2D) forward(p *pass) error {
	return g.at(p.batch()).MaxPool(p.ctx(), p.rec, p.in, p.out)
}

func (g *globalMaxPool2D) backward(p *pass) error {
	return g.inputGradient(p, func(batch, _, _, _ int) error {
		return g.at(batch).MaxPoolBackward(p.ctx(), p.rec, p.in, p.dOut, p.dIn)
	})
}
