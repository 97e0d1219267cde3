package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("maxpool2d", kind{class: "MaxPooling2D", prefix: "max_pooling2d", build: buildMaxPool2D, fields: pool2dFields})
}

// maxPool2D is max pooling; the gradient goes to each window's first
// maximum (summed where windows overlap).
type maxPool2D struct{ pool2d }

func buildMaxPool2D(b *builder) (recorder, error) {
	q, err := newPool2D(b)
	return &maxPool2D{q}, err
}

func (m *maxPool2D) forward(p *pass) error {
	if m.window != nil {
		return m.at(p.batch()).MaxPool(p.ctx(), p.rec, p.in, p.out)
	}
	return kernels.MaxPool(p.ctx(), p.rec, p.in, p.out, p.batch(), m.in.H, m.in.W, m.in.C)
}

func (m *maxPool2D) backward(p *pass) error {
	return m.inputGradient(p, func(batch, h, w, c int) error {
		if m.window != nil {
			return m.at(batch).MaxPoolBackward(p.ctx(), p.rec, p.in, p.dOut, p.dIn)
		}
		return kernels.MaxPoolBackward(p.ctx(), p.rec, p.in, p.dOut, p.dIn, batch, h, w, c)
	})
}
