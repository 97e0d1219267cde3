package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("concatenate", kind{class: "Concatenate", prefix: "concatenate", joins: true, build: buildConcatenate,
		keras: map[string][]string{"axis": {"-1", "3"}}})
}

// concatenate joins its inputs along the channel axis (Keras' default,
// the last), in the order it names them.
type concatenate struct{ out Shape }

func buildConcatenate(b *builder) (recorder, error) {
	ins := b.l.Ins
	if len(ins) < 2 {
		return nil, errors.New("a concatenate layer joins two inputs or more: name them in its inputs")
	}
	out := ins[0]
	for k, s := range ins[1:] {
		if s.H != out.H || s.W != out.W {
			return nil, fmt.Errorf("input %s has shape %v, %s %v: a concatenate layer's inputs differ in channels alone", b.inputName(k+1), s, b.inputName(0), ins[0])
		}
		out.C += s.C
	}
	if out.C > maxDim {
		return nil, fmt.Errorf("%d channels, more than %d", out.C, maxDim)
	}
	b.l.Out = out
	return &concatenate{out}, nil
}

func (*concatenate) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (*concatenate) products(int, bool) []product          { return nil }

// each calls f with each input's place in the output.
func (c *concatenate) each(p *pass, f func(k int, ch kernels.Channels) error) error {
	off := 0
	for k, in := range p.l.Ins {
		if err := f(k, kernels.Channels{Batch: p.batch(), Pixels: c.out.H * c.out.W, C: in.C, Wide: c.out.C, Offset: off}); err != nil {
			return err
		}
		off += in.C
	}
	return nil
}

func (c *concatenate) forward(p *pass) error {
	return c.each(p, func(k int, ch kernels.Channels) error { return ch.Scatter(p.ctx(), p.rec, p.ins[k], p.out) })
}

func (c *concatenate) backward(p *pass) error {
	err := c.each(p, func(k int, ch kernels.Channels) error {
		if p.dIns[k].Buf == nil {
			return nil
		}
		return ch.Gather(p.ctx(), p.rec, p.dIns[k], p.dOut)
	})
	if err != nil {
		return err
	}
	return p.mark("backward")
}
