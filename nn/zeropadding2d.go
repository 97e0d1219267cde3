package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("zeropadding2d", kind{class: "ZeroPadding2D", prefix: "zero_padding2d", fields: []string{"padding"}, zeros: true, build: buildZeroPadding2D})
}

// zeroPadding2D pads the image with rows and columns of zeros: a 1x1
// window at stride 1 whose output is larger than its input.
type zeroPadding2D struct{ pool2d }

func buildZeroPadding2D(b *builder) (recorder, error) {
	if b.flat {
		return nil, errors.New("zero padding after flatten or dense: its input is a vector")
	}
	z := b.spec().ZeroPadding
	if z == nil {
		return nil, errors.New("no padding: one number, [rows, columns] or [[top, bottom], [left, right]]")
	}
	for _, n := range [4]int{z[0][0], z[0][1], z[1][0], z[1][1]} {
		if n < 0 || n > maxPadding {
			return nil, fmt.Errorf("padding %v: each side 0..%d", *z, maxPadding)
		}
	}
	in := b.in()
	g := &kernels.Window{H: in.H, W: in.W, C: in.C, OH: in.H + z[0][0] + z[0][1], OW: in.W + z[1][0] + z[1][1], KH: 1, KW: 1, SH: 1, SW: 1, PadTop: z[0][0], PadLeft: z[1][0]}
	b.l.Out = Shape{g.OH, g.OW, in.C}
	return &zeroPadding2D{pool2d{in, g}}, nil
}

// maxPadding bounds a side's zeros.
const maxPadding = 1 << 12

func (z *zeroPadding2D) forward(p *pass) error {
	return z.at(p.batch()).Pad(p.ctx(), p.rec, p.in, p.out)
}

func (z *zeroPadding2D) backward(p *pass) error {
	return z.inputGradient(p, func(batch, _, _, _ int) error {
		return z.at(batch).Crop(p.ctx(), p.rec, p.dOut, p.dIn)
	})
}
