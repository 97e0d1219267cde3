package nn

import "github.com/vkcnn/vkcnn/nn/kernels"

func init() {
	register("dropout", kind{class: "Dropout", prefix: "dropout", fields: []string{"rate"}, build: buildDropout,
		keras: map[string][]string{"noise_shape": {"null"}}})
}

// dropout is inverted dropout in training (and gradient checks), the
// identity in evaluation; its mask is hashed from the step's seed and
// counter, so backward reproduces it.
type dropout struct{ rate float32 }

func buildDropout(b *builder) (recorder, error) {
	if err := kernels.CheckDropoutRate(b.spec().Rate); err != nil {
		return nil, err
	}
	b.l.Out = b.in()
	return &dropout{float32(b.spec().Rate)}, nil
}

// WithDropout returns the spec with every dropout layer's rate set to rate.
func (s ModelSpec) WithDropout(rate float64) (ModelSpec, error) {
	if err := kernels.CheckDropoutRate(rate); err != nil {
		return s, err
	}
	out := s
	out.Layers = append([]LayerSpec(nil), s.Layers...)
	for i := range out.Layers {
		if out.Layers[i].Type == "dropout" {
			out.Layers[i].Rate = rate
		}
	}
	return out, nil
}

func (*dropout) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (*dropout) products(int, bool) []product          { return nil }

func (d *dropout) forward(p *pass) error {
	if p.mode == ModeEval || d.rate == 0 {
		p.out = p.in
		return nil
	}
	_, out := p.values()
	return kernels.Dropout(p.ctx(), p.rec, p.in, p.out, p.header(), out, d.rate)
}

func (d *dropout) backward(p *pass) error {
	if !p.inputGradient() {
		return nil
	}
	_, out := p.values()
	var err error
	if d.rate > 0 {
		err = kernels.Dropout(p.ctx(), p.rec, p.dOut, p.dIn, p.header(), out, d.rate)
	} else {
		err = kernels.Scale(p.ctx(), p.rec, p.dOut, p.dIn, out, 1)
	}
	if err != nil {
		return err
	}
	return p.mark("backward")
}
