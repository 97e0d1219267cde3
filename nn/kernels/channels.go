package kernels

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// channels.comp reads and writes both its buffers, the one direction or
// the other as its constant says.
var (
	channelsScatterShader = groupShader("channels", "scatter", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 4, 1)
	channelsGatherShader  = groupShader("channels", "gather", []vk.Access{vk.ReadWrite, vk.ReadWrite}, 4, 0)
)

// Channels places a tensor of C channels at channel Offset of a wider one
// of Wide channels, over Batch images of Pixels pixels (NHWC): how a
// concatenation along the channel axis places each of its inputs.
type Channels struct{ Batch, Pixels, C, Wide, Offset int }

// Scatter records the wide tensor y's channels Offset to Offset+C-1 =
// x's channels.
func (k Channels) Scatter(ctx *vk.Context, rec *vk.Recording, x, y vk.Range) error {
	return k.record(ctx, rec, channelsScatterShader, x, y)
}

// Gather records x = the wide tensor y's channels Offset to Offset+C-1.
func (k Channels) Gather(ctx *vk.Context, rec *vk.Recording, x, y vk.Range) error {
	return k.record(ctx, rec, channelsGatherShader, x, y)
}

func (k Channels) record(ctx *vk.Context, rec *vk.Recording, s shader, x, y vk.Range) error {
	if k.Batch <= 0 || k.Pixels <= 0 || k.C <= 0 || k.Offset < 0 || k.Offset+k.C > k.Wide {
		return fmt.Errorf("channels: %d channels at %d of %d (batch %d, %d pixels)", k.C, k.Offset, k.Wide, k.Batch, k.Pixels)
	}
	if err := errors.Join(needFloats("channels", x, k.Batch*k.Pixels*k.C), needFloats("wide channels", y, k.Batch*k.Pixels*k.Wide)); err != nil {
		return err
	}
	what := fmt.Sprintf("one image of %d pixels of %d channels", k.Pixels, k.Wide)
	args := []sliced{{x, 4 * int64(k.Pixels*k.C)}, {y, 4 * int64(k.Pixels*k.Wide)}}
	return inSlices(ctx.Info, what, k.Batch, args, func(_, count int, args []vk.Range) error {
		n := count * k.Pixels * k.C
		return single(ctx, rec, s, n, []uint32{uint32(n), uint32(k.C), uint32(k.Wide), uint32(k.Offset)}, args)
	})
}
