package nn

import (
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

// pool2dFields are the pooling kinds' model.json fields.
var pool2dFields = []string{"pool_size", "strides", "padding"}

// pool2d is what the pooling kinds share: pool_size windows (default 2x2)
// moved strides pixels a step (default pool_size), with "valid" padding
// (the default: a trailing row or column no window fills is dropped) or
// TensorFlow's "same" (the larger half below and right), which no window
// counts. No parameters, no products.
type pool2d struct {
	in Shape
	// window is the geometry pool.comp runs, nil for the default 2x2,
	// stride-2 "valid" pooling, which maxpool.comp and avgpool.comp run as
	// they always have.
	window *kernels.Window
}

func newPool2D(b *builder) (pool2d, error) {
	in, s := b.in(), b.spec()
	size, err := poolPair("pool_size", s.PoolSize, Pair{2, 2}, in)
	if err != nil {
		return pool2d{}, err
	}
	strides, err := poolPair("strides", s.Strides, size, in)
	if err != nil {
		return pool2d{}, err
	}
	g := &kernels.Window{H: in.H, W: in.W, C: in.C, KH: size[0], KW: size[1], SH: strides[0], SW: strides[1]}
	switch s.Padding {
	case "", "valid":
		if in.H < g.KH || in.W < g.KW {
			return pool2d{}, fmt.Errorf("input %v is too small to pool in %dx%d windows", in, g.KH, g.KW)
		}
		place(g, false)
	case "same":
		place(g, true)
	default:
		return pool2d{}, fmt.Errorf("padding %q (same or valid)", s.Padding)
	}
	b.l.Out = Shape{g.OH, g.OW, in.C}
	if g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PadTop == 0 && g.PadLeft == 0 && s.Padding != "same" {
		return pool2d{in: in}, nil
	}
	return pool2d{in, g}, nil
}

// poolPair is a pooling's pool_size or strides: two sizes, each from 1
// to the input's side, or def.
func poolPair(name string, p, def Pair, in Shape) (Pair, error) {
	if p == nil {
		return def, nil
	}
	if len(p) != 2 || p[0] < 1 || p[1] < 1 || p[0] > in.H || p[1] > in.W {
		return nil, fmt.Errorf("%s %v: rows and columns, from 1 to the input's %dx%d", name, []int(p), in.H, in.W)
	}
	return p, nil
}

// at is the layer's windows at a batch size.
func (q pool2d) at(batch int) kernels.Window {
	g := *q.window
	g.Batch = batch
	return g
}

func (pool2d) needs(int, bool, kernels.Tuning) needs { return needs{} }
func (pool2d) products(int, bool) []product          { return nil }

// inputGradient records the input gradient, where the layer has one to
// compute, with record(batch, h, w, c).
func (q pool2d) inputGradient(p *pass, record func(batch, h, w, c int) error) error {
	if !p.inputGradient() {
		return nil
	}
	if err := record(p.batch(), q.in.H, q.in.W, q.in.C); err != nil {
		return err
	}
	return p.mark("backward")
}

// pooling is the windows of a layer that pools or pads with pool.comp.
func (q pool2d) pooling() pool2d { return q }

// PoolWindows is how a pooling or zero padding layer places its windows,
// for exports: their rows and columns, their steps and the padding on
// each side.
func PoolWindows(l *Layer) Windows {
	g := l.rec.(interface{ pooling() pool2d }).pooling().window
	if g == nil {
		return Windows{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}
	}
	return windowsOf(*g)
}
