package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
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
	return pool(ctx, rec, avgPoolShader, batch, h, w, c, []sliced{{in, 4 * int64(h*w*c)}, {out, poolOutBytes(h, w, c)}})
}

// AvgPoolBackward records the input gradient of AvgPool: a quarter of each
// window's output gradient to each of its inputs.
func AvgPoolBackward(ctx *vk.Context, rec *vk.Recording, dOut, dIn vk.Range, batch, h, w, c int) error {
	outs := batch * (h / 2) * (w / 2) * c
	if err := errors.Join(needFloats("pool output gradient", dOut, outs), needFloats("pool input gradient", dIn, batch*h*w*c)); err != nil {
		return err
	}
	return pool(ctx, rec, avgPoolBackwardShader, batch, h, w, c, []sliced{{dOut, poolOutBytes(h, w, c)}, {dIn, 4 * int64(h*w*c)}})
}

// poolOutBytes is one image's pooled values.
func poolOutBytes(h, w, c int) int64 { return 4 * int64((h/2)*(w/2)*c) }

// pool records a pooling kernel, one invocation an output value, in batch
// slices within the device's storage-buffer range.
func pool(ctx *vk.Context, rec *vk.Recording, s shader, batch, h, w, c int, args []sliced) error {
	what := fmt.Sprintf("one %dx%dx%d image of a pooling", h, w, c)
	return inSlices(ctx.Info, what, batch, args, func(_, count int, args []vk.Range) error {
		outs := count * (h / 2) * (w / 2) * c
		return single(ctx, rec, s, outs, []uint32{uint32(outs), uint32(h), uint32(w), uint32(c)}, args)
	})
}
