package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestChannelsMatchReference concatenates three tensors of odd channel
// counts along the channel axis and splits the result back, whole and in
// slices of images where the storage range is small.
func TestChannelsMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(41, 42))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range []struct {
		batch, pixels int
		cs            []int
		limit         int64
	}{{1, 1, []int{1, 2}, 0}, {3, 7, []int{5, 1, 3}, 0}, {17, 9, []int{3, 4, 2}, 4096}} {
		maxRangeOverride = s.limit
		wide := 0
		for _, c := range s.cs {
			wide += c
		}
		pixels := s.batch * s.pixels
		var xs [][]float32
		var xBufs []*vk.Buffer
		for _, c := range s.cs {
			x := randomFloats(rng, pixels*c)
			xs, xBufs = append(xs, x), append(xBufs, upload(t, ctx, x))
		}
		yBuf := upload(t, ctx, randomFloats(rng, pixels*wide))
		var backBufs []*vk.Buffer
		for _, c := range s.cs {
			backBufs = append(backBufs, upload(t, ctx, randomFloats(rng, pixels*c)))
		}
		run(t, ctx, func(rec *vk.Recording) error {
			if s.limit > 0 && 4*int64(s.batch*s.pixels*wide) <= s.limit {
				t.Fatalf("%d bytes fit the range of %d: nothing to slice", 4*s.batch*s.pixels*wide, s.limit)
			}
			off := 0
			for k, c := range s.cs {
				if err := (Channels{s.batch, s.pixels, c, wide, off}).Scatter(ctx, rec, vk.Whole(xBufs[k]), vk.Whole(yBuf)); err != nil {
					return err
				}
				off += c
			}
			off = 0
			for k, c := range s.cs {
				if err := (Channels{s.batch, s.pixels, c, wide, off}).Gather(ctx, rec, vk.Whole(backBufs[k]), vk.Whole(yBuf)); err != nil {
					return err
				}
				off += c
			}
			return nil
		})
		name := fmt.Sprintf("batch %d, %d pixels, channels %v", s.batch, s.pixels, s.cs)
		expectExact(t, name+": concatenated", download(t, yBuf, pixels*wide), ref.Concat(xs, pixels, s.cs))
		for k, c := range s.cs {
			expectExact(t, fmt.Sprintf("%s: input %d back", name, k), download(t, backBufs[k], pixels*c), xs[k])
		}
	}
	if err := (Channels{1, 1, 3, 2, 0}).Scatter(ctx, nil, vk.Range{}, vk.Range{}); err == nil {
		t.Error("3 channels in a tensor of 2 were accepted")
	}
}
