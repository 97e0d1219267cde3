package nn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func init() {
	register("activation", kind{class: "Activation", prefix: "activation", fields: []string{"activation", "alpha"}, build: buildActivation})
	// Keras' LeakyReLU layer; model.json gives its alpha no default, as
	// the frameworks' differ (Keras' layer 0.3, Keras 3's leaky_relu
	// function 0.2, PyTorch's 0.01).
	register("leaky_relu", kind{class: "LeakyReLU", prefix: "leaky_re_lu", fields: []string{"alpha"}, build: buildLeakyReLU})
}

// activation is a layer's activation function other than the ReLU that
// conv2d and dense fuse into their products: the zero value is none.
type activation struct {
	fn    kernels.Activation
	alpha float32
	set   bool
}

// parseActivation reads an activation and its alpha: leaky_relu needs
// one, elu takes one (default 1), the others none. linear (or none) is
// the zero activation.
func parseActivation(name string, alpha *float64) (activation, error) {
	if name == "" || name == "linear" {
		if alpha != nil {
			return activation{}, errors.New("a linear activation takes no alpha")
		}
		return activation{}, nil
	}
	fn, ok := kernels.ParseActivation(name)
	if !ok {
		return activation{}, fmt.Errorf("unknown activation %q (%s; softmax on the last dense layer)", name, activationNames())
	}
	a := activation{fn: fn, set: true}
	switch {
	case fn == kernels.ActLeakyReLU && alpha == nil:
		return a, errors.New("leaky_relu needs an alpha, its slope below 0 (Keras' LeakyReLU layer defaults to 0.3, Keras 3's leaky_relu function to 0.2, PyTorch to 0.01)")
	case fn == kernels.ActELU && alpha == nil:
		a.alpha = 1
	case fn == kernels.ActLeakyReLU || fn == kernels.ActELU:
		if !(*alpha >= 0) {
			return a, fmt.Errorf("%s's alpha must be at least 0 (got %g)", name, *alpha)
		}
		a.alpha = float32(*alpha)
	case alpha != nil:
		return a, fmt.Errorf("activation %s takes no alpha (only leaky_relu and elu do)", name)
	}
	return a, nil
}

// activationNames lists the activations model.json takes, for messages.
func activationNames() string {
	names := []string{"linear"}
	for _, a := range kernels.Activations() {
		names = append(names, a.String())
		if a == kernels.ActSwish {
			names = append(names, "silu")
		}
	}
	return strings.Join(names, ", ")
}

// activation reads the activation of a conv2d or dense layer: a ReLU its
// kernels fuse, or another that runs as a dispatch of its own after the
// product (see activation.productOut). Softmax is for the last layer
// only, whose outputs the loss takes as logits, where the kind allows it
// (a dense layer).
func (b *builder) activation(softmax bool) (relu bool, other activation, err error) {
	s := b.l.Spec
	switch s.Activation {
	case "relu":
		if s.Alpha != nil {
			return false, other, errors.New("activation relu takes no alpha (only leaky_relu and elu do)")
		}
		return true, other, nil
	case "softmax":
		switch {
		case !b.last || !softmax:
			return false, other, errors.New("softmax is only supported on the last layer, a dense layer")
		case s.Alpha != nil:
			return false, other, errors.New("activation softmax takes no alpha (only leaky_relu and elu do)")
		}
		return false, other, nil
	}
	other, err = parseActivation(s.Activation, s.Alpha)
	return false, other, err
}

// own is the buffer of its own the activation needs after a product of
// floats values: the product's output, its input.
func (a activation) own(floats int) []int {
	if !a.set {
		return nil
	}
	return []int{floats}
}

// productOut is where a conv2d or dense layer's product goes: the
// layer's output, or before an activation the last buffer of its own.
func (a activation) productOut(p *pass) vk.Range {
	if !a.set {
		return p.out
	}
	return whole(p.own[len(p.own)-1])
}

// forward records the activation of the product, if any.
func (a activation) forward(p *pass) error {
	if !a.set {
		return nil
	}
	_, out := p.values()
	return kernels.Activate(p.ctx(), p.rec, a.fn, a.alpha, a.productOut(p), p.out, out)
}

// backward turns the output gradient into the product's, in place.
func (a activation) backward(p *pass) error {
	if !a.set {
		return nil
	}
	_, out := p.values()
	return kernels.ActivateBackward(p.ctx(), p.rec, a.fn, a.alpha, a.productOut(p), p.dOut, out)
}

// activationLayer is an activation as a layer of its own (Keras'
// Activation and LeakyReLU); a linear one passes its input on.
type activationLayer struct{ act activation }

func buildActivation(b *builder) (recorder, error) {
	s := b.spec()
	if s.Activation == "" {
		return nil, fmt.Errorf("needs an activation (%s)", activationNames())
	}
	if s.Activation == "softmax" {
		return nil, errors.New("softmax is only supported on the last layer, a dense layer")
	}
	a, err := parseActivation(s.Activation, s.Alpha)
	if err != nil {
		return nil, err
	}
	b.l.Out = b.in()
	return activationLayer{a}, nil
}

func buildLeakyReLU(b *builder) (recorder, error) {
	a, err := parseActivation("leaky_relu", b.spec().Alpha)
	if err != nil {
		return nil, err
	}
	b.l.Out = b.in()
	return activationLayer{a}, nil
}

// The input gradient overwrites the output gradient.
func (l activationLayer) needs(int, bool, kernels.Tuning) needs {
	return needs{passesOn: !l.act.set, gradientInPlace: true}
}
func (activationLayer) products(int, bool) []product { return nil }

func (l activationLayer) forward(p *pass) error {
	if !l.act.set {
		p.out = p.in
		return nil
	}
	_, out := p.values()
	return kernels.Activate(p.ctx(), p.rec, l.act.fn, l.act.alpha, p.in, p.out, out)
}

func (l activationLayer) backward(p *pass) error {
	if !l.act.set || !p.inputGradient() {
		return nil
	}
	_, out := p.values()
	if err := kernels.ActivateBackward(p.ctx(), p.rec, l.act.fn, l.act.alpha, p.in, p.dOut, out); err != nil {
		return err
	}
	return p.mark("backward")
}
