package nn

import "vkcnn/nn/kernels"

func init() {
	register("avgpool2d", kind{class: "AveragePooling2D", prefix: "average_pooling2d", build: buildAvgPool2D})
}

// avgPool2D is 2x2 average pooling, stride 2.
type avgPool2D struct{ in Shape }

func buildAvgPool2D(b *builder) (recorder, error) {
	out, err := poolOutput(b.in())
	b.l.Out = out
	return &avgPool2D{b.in()}, err
}

func (*avgPool2D) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (*avgPool2D) products(int, bool) []product          { return nil }

func (a *avgPool2D) forward(p *pass) error {
	return kernels.AvgPool(p.ctx(), p.rec, p.in, p.out, p.batch(), a.in.H, a.in.W, a.in.C)
}

func (a *avgPool2D) backward(p *pass) error {
	if !p.inputGradient() {
		return nil
	}
	if err := kernels.AvgPoolBackward(p.ctx(), p.rec, p.dOut, p.dIn, p.batch(), a.in.H, a.in.W, a.in.C); err != nil {
		return err
	}
	return p.mark("backward")
}
