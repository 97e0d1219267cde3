package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("avgpool2d", kind{class: "AveragePooling2D", prefix: "average_pooling2d", build: buildAvgPool2D, fields: pool2dFields})
}

// avgPool2D is average pooling, of the window's real pixels where "same"
// padding pads it (Keras').
type avgPool2D struct{ pool2d }

func buildAvgPool2D(b *builder) (recorder, error) {
	q, err := newPool2D(b)
	return &avgPool2D{q}, err
}

func (a *avgPool2D) forward(p *pass) error {
	if a.window != nil {
		return a.at(p.batch()).AvgPool(p.ctx(), p.rec, p.in, p.out)
	}
	return kernels.AvgPool(p.ctx(), p.rec, p.in, p.out, p.batch(), a.in.H, a.in.W, a.in.C)
}

func (a *avgPool2D) backward(p *pass) error {
	return a.inputGradient(p, func(batch, h, w, c int) error {
		if a.window != nil {
			return a.at(batch).AvgPoolBackward(p.ctx(), p.rec, p.dOut, p.dIn)
		}
		return kernels.AvgPoolBackward(p.ctx(), p.rec, p.dOut, p.dIn, batch, h, w, c)
	})
}
