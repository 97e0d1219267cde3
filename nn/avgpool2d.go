package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("avgpool2d", kind{class: "AveragePooling2D", prefix: "average_pooling2d", build: buildAvgPool2D, keras: pool2dKeras})
}

// avgPool2D is average pooling.
type avgPool2D struct{ pool2d }

func buildAvgPool2D(b *builder) (recorder, error) {
	q, err := newPool2D(b)
	return &avgPool2D{q}, err
}

func (a *avgPool2D) forward(p *pass) error {
	return kernels.AvgPool(p.ctx(), p.rec, p.in, p.out, p.batch(), a.in.H, a.in.W, a.in.C)
}

func (a *avgPool2D) backward(p *pass) error {
	return a.inputGradient(p, func(batch, h, w, c int) error {
		return kernels.AvgPoolBackward(p.ctx(), p.rec, p.dOut, p.dIn, batch, h, w, c)
	})
}
