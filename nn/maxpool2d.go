package nn

import "vkcnn/nn/kernels"

func init() {
	register("maxpool2d", kind{class: "MaxPooling2D", prefix: "max_pooling2d", build: buildMaxPool2D})
}

// maxPool2D is 2x2 max pooling, stride 2; the gradient goes to each
// window's first maximum.
type maxPool2D struct{ in Shape }

func buildMaxPool2D(b *builder) (recorder, error) {
	out, err := poolOutput(b.in())
	b.l.Out = out
	return &maxPool2D{b.in()}, err
}

func (*maxPool2D) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (*maxPool2D) products(int, bool) []product          { return nil }

func (m *maxPool2D) forward(p *pass) error {
	return kernels.MaxPool(p.ctx(), p.rec, p.in, p.out, p.batch(), m.in.H, m.in.W, m.in.C)
}

func (m *maxPool2D) backward(p *pass) error {
	if !p.inputGradient() {
		return nil
	}
	if err := kernels.MaxPoolBackward(p.ctx(), p.rec, p.in, p.dOut, p.dIn, p.batch(), m.in.H, m.in.W, m.in.C); err != nil {
		return err
	}
	return p.mark("backward")
}
