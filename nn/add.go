package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("add", kind{class: "Add", prefix: "add", joins: true, build: buildAdd})
}

// add sums its inputs, of one shape, in the order it names them: a
// residual connection.
type add struct{}

func buildAdd(b *builder) (recorder, error) {
	ins := b.l.Ins
	if len(ins) < 2 {
		return nil, errors.New("an add layer sums two inputs or more: name them in its inputs")
	}
	for k, s := range ins[1:] {
		if s != ins[0] {
			return nil, fmt.Errorf("input %s has shape %v, %s %v: an add layer's inputs have one shape", b.inputName(k+1), s, b.inputName(0), ins[0])
		}
	}
	b.l.Out = ins[0]
	return add{}, nil
}

func (add) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (add) products(int, bool) []product          { return nil }

func (add) forward(p *pass) error {
	_, n := p.values()
	err := kernels.Add(p.ctx(), p.rec, p.ins[0], p.ins[1], p.out, n)
	for _, in := range p.ins[2:] {
		err = errors.Join(err, kernels.Add(p.ctx(), p.rec, p.out, in, p.out, n))
	}
	return err
}

// Every input's gradient is the output's.
func (add) backward(p *pass) error {
	_, n := p.values()
	var err error
	for _, dIn := range p.dIns {
		if dIn.Buf != nil {
			err = errors.Join(err, kernels.Scale(p.ctx(), p.rec, p.dOut, dIn, n, 1))
		}
	}
	if err != nil {
		return err
	}
	return p.mark("backward")
}
