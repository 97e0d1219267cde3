package nn

import "fmt"

// poolOutput is the output shape of 2x2, stride-2 pooling ("valid": a
// trailing odd row or column is dropped).
func poolOutput(in Shape) (Shape, error) {
	if in.H < 2 || in.W < 2 {
		return Shape{}, fmt.Errorf("input %v is too small to pool", in)
	}
	return Shape{in.H / 2, in.W / 2, in.C}, nil
}
