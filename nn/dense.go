package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("dense", kind{class: "Dense", prefix: "dense", fields: []string{"units", "activation", "alpha"}, flat: true, build: buildDense,
		keras: map[string][]string{"use_bias": {"true"}, "lora_rank": {"null"}}})
}

// dense is a fully connected layer on a vector, with a bias and,
// optionally, a fused ReLU or another activation; the last layer's
// softmax is the loss's.
type dense struct {
	in, units    int
	kernel, bias *Param
	relu         bool
	act          activation
}

func buildDense(b *builder) (recorder, error) {
	s, in := b.spec(), b.in()
	if s.Units <= 0 {
		return nil, errors.New("needs units > 0")
	}
	if s.Units > maxDim {
		return nil, fmt.Errorf("units (at most %d) too large", maxDim)
	}
	if in.H != 1 || in.W != 1 {
		return nil, fmt.Errorf("input %v is not flat (add a flatten layer)", in)
	}
	relu, act, err := b.activation(true)
	if err != nil {
		return nil, err
	}
	d := &dense{in: in.C, units: s.Units, relu: relu, act: act}
	b.l.Out = Shape{1, 1, s.Units}
	d.kernel = b.glorot("kernel", []int{in.C, s.Units}, in.C, s.Units)
	d.bias = b.param("bias", []int{s.Units}, Zeros, true)
	return d, nil
}

// The layer's products at a batch size: forward X*W, the kernel gradient
// X^T*dY and the input gradient dY*W^T.
func (d *dense) forwardGemm(batch int) kernels.Gemm {
	return kernels.Gemm{M: batch, N: d.units, K: d.in, Bias: true, ReLU: d.relu}
}

func (d *dense) kernelGradient(batch int) kernels.Gemm {
	return kernels.Gemm{M: d.in, N: d.units, K: batch, TransA: true}
}

func (d *dense) inputGradient(batch int) kernels.Gemm {
	return kernels.Gemm{M: batch, N: d.in, K: d.units, TransB: true}
}

func (d *dense) needs(batch int, first bool, t kernels.Tuning) needs {
	n := needs{colSum: kernels.ColSumScratch(batch, d.units)}
	for _, g := range d.gemms(batch, first) {
		n.split = max(n.split, t.Scratch(g))
	}
	n.own = d.act.own(batch * d.units)
	return n
}

// gemms are the layer's products but, in the first layer, the input
// gradient.
func (d *dense) gemms(batch int, first bool) []kernels.Gemm {
	out := []kernels.Gemm{d.forwardGemm(batch), d.kernelGradient(batch)}
	if !first {
		out = append(out, d.inputGradient(batch))
	}
	return out
}

func (d *dense) products(batch int, first bool) []product {
	var out []product
	for i, g := range d.gemms(batch, first) {
		out = append(out, product{[...]string{"forward", "kernel gradient", "input gradient"}[i], g})
	}
	return out
}

func (d *dense) forward(p *pass) error {
	g := p.gemm("forward", d.forwardGemm(p.batch()))
	if err := g.Record(p.ctx(), p.rec, kernels.GemmArgs{A: p.in, B: p.param(d.kernel), C: d.act.productOut(p), Bias: p.param(d.bias), Scratch: p.splitScratch()}); err != nil {
		return err
	}
	return d.act.forward(p)
}

func (d *dense) backward(p *pass) error {
	var err error
	if d.relu {
		err = p.reluBackward()
	}
	err = errors.Join(err, d.act.backward(p))
	dW := p.gemm("kernel gradient", d.kernelGradient(p.batch()))
	err = errors.Join(err,
		dW.Record(p.ctx(), p.rec, kernels.GemmArgs{A: p.in, B: p.dOut, C: p.grad(d.kernel), Scratch: p.splitScratch()}),
		p.colSum(d.bias))
	if err == nil && p.inputGradient() {
		dX := p.gemm("input gradient", d.inputGradient(p.batch()))
		err = dX.Record(p.ctx(), p.rec, kernels.GemmArgs{A: p.dOut, B: p.param(d.kernel), C: p.dIn, Scratch: p.splitScratch()})
	}
	if err != nil {
		return err
	}
	return p.mark("backward")
}
