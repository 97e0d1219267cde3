package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func init() {
	register("add", kind{class: "Add", prefix: "add", joins: true, build: buildAdd})
}

// add sums its inputs, of one shape, in the order it names them: a
// residual connection. With relu it runs the ReLU layer after it (see
// Model.fuse): the last sum is cut at 0, and every input's gradient is the
// output's where the output is positive.
type add struct{ relu bool }

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
	return &add{}, nil
}

func (*add) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (*add) products(int, bool) []product          { return nil }

func (a *add) forward(p *pass) error {
	_, n := p.values()
	sum, last := p.ins[0], len(p.ins)-1
	var err error
	for k, in := range p.ins[1:] {
		if a.relu && k+1 == last {
			err = errors.Join(err, kernels.AddReLU(p.ctx(), p.rec, sum, in, p.out, n))
		} else {
			err = errors.Join(err, kernels.Add(p.ctx(), p.rec, sum, in, p.out, n))
		}
		sum = p.out
	}
	return err
}

// Every input's gradient is the output's (where the output is positive,
// with relu: two inputs' at a time).
func (a *add) backward(p *pass) error {
	_, n := p.values()
	var dIns []vk.Range
	for _, dIn := range p.dIns {
		if dIn.Buf != nil {
			dIns = append(dIns, dIn)
		}
	}
	var err error
	for k := 0; k < len(dIns); k++ {
		if !a.relu {
			err = errors.Join(err, kernels.Scale(p.ctx(), p.rec, p.dOut, dIns[k], n, 1))
			continue
		}
		first, second := dIns[k], vk.Range{}
		if k+1 < len(dIns) {
			k++
			second = dIns[k]
		}
		err = errors.Join(err, kernels.AddReLUBackward(p.ctx(), p.rec, p.out, p.dOut, first, second, n))
	}
	if err != nil {
		return err
	}
	return p.mark("backward")
}
