package kernels

import (
	"errors"

	"vkcnn/vk"
)

var (
	avgPoolShader         = groupShader("avgpool", "forward", []vk.Access{vk.Read, vk.Write}, 4, 0)
	avgPoolBackwardShader = groupShader("avgpool", "backward", []vk.Access{vk.Read, vk.Write}, 4, 1)
)

// AvgPool records 2x2, stride-2 average pooling of NHWC in (batch x h x w
// x c).
func AvgPool(ctx *vk.Context, rec *vk.Recording, in, out vk.Range, batch, h, w, c int) error {
	outs := batch * (h / 2) * (w / 2) * c
	if err := errors.Join(needFloats("pool input", in, batch*h*w*c), needFloats("pool output", out, outs)); err != nil {
		return err
	}
	return single(ctx, rec, avgPoolShader, outs, []uint32{uint32(outs), uint32(h), uint32(w), uint32(c)}, []vk.Range{in, out})
}

// AvgPoolBackward records the input gradient of AvgPool: a quarter of each
// window's output gradient to each of its inputs.
func AvgPoolBackward(ctx *vk.Context, rec *vk.Recording, dOut, dIn vk.Range, batch, h, w, c int) error {
	outs := batch * (h / 2) * (w / 2) * c
	if err := errors.Join(needFloats("pool output gradient", dOut, outs), needFloats("pool input gradient", dIn, batch*h*w*c)); err != nil {
		return err
	}
	return single(ctx, rec, avgPoolBackwardShader, outs, []uint32{uint32(outs), uint32(h), uint32(w), uint32(c)}, []vk.Range{dOut, dIn})
}
