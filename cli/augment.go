package cli

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/vk"
)

func augmentCommand() *cli.Command {
	return &cli.Command{
		Name:      "augment",
		Usage:     "draw augmented training images, warped on the device as training does, to a PNG grid or a NumPy archive",
		UsageText: "vkcnn augment [--shift F | --shift-px P] [--flip horizontal|vertical|both] [--interp nearest|bilinear] [--n 25] [--out samples.png] [--npz samples.npz] [--seed S] [--data DIR] [--device D]",
		Description: "--npz writes index (N int64: each sample's training-set index), labels (N uint8),\n" +
			"affine (N x 6 float32: output pixel x=column, y=row to input coordinates,\n" +
			"x' = a0 x + a1 y + a2, y' = a3 x + a4 y + a5) and images (N x H x W float32, or\n" +
			"N x H x W x C for colour: the values training sees), so the warp can be checked\n" +
			"against SciPy. --crop-pad P is --shift-px P: torchvision's RandomCrop(size,\n" +
			"padding=P); --flip mirrors after it, as RandomHorizontalFlip does.",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "n", Value: 25, Usage: "images to draw: 1 to 100 for --out, up to the training set's size for --npz alone"},
			&cli.StringFlag{Name: "out", Usage: "PNG file to write: a grid of the images with their labels"},
			&cli.StringFlag{Name: "npz", Usage: "NumPy archive to write: index, labels, affine and images"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the sample choice and the transforms"},
			dataFlag,
			deviceFlag,
		}, append(augmentFlags(), imageFlags()...)...),
		OnUsageError: usageError,
		Action:       augmentSamples,
	}
}

func augmentSamples(c *cli.Context) (err error) {
	n, png, archive := c.Int("n"), c.String("out"), c.String("npz")
	if png == "" && archive == "" {
		return errors.New("nothing to write: give --out FILE.png, --npz FILE.npz or both")
	}
	if n < 1 || (png != "" && n > report.MaxGridImages) {
		return fmt.Errorf("--n %d: must lie in 1..%d for a grid (--npz alone takes more)", n, report.MaxGridImages)
	}
	cfg, err := augmentConfig(c)
	if err != nil {
		return err
	}
	opts, err := imageOptions(c)
	if err != nil {
		return err
	}
	opts.TrainOnly = true
	data, err := loadData(c, opts)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, data.Close()) }()
	train, g := data.Train, data.Geometry
	gen, err := augment.NewGenerator(cfg, g, c.Uint64("seed"))
	if err != nil {
		return err
	}
	if n > train.N {
		return fmt.Errorf("--n %d: the training set has %d images", n, train.N)
	}
	pick := rand.New(rand.NewPCG(c.Uint64("seed"), 0x706963))
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(pick.IntN(train.N))
	}
	affines := gen.Batch(n)

	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	pixels, err := warpOnDevice(ctx, train.Images, g, order, affines, cfg.Sampling())
	if err != nil {
		return err
	}
	samples := augmentedSamples{geometry: g, order: order, labels: train.Labels, names: data.Names, affines: affines, pixels: pixels}
	if png != "" {
		if err := samples.grid(png); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "Wrote %s: %d training images, %s\n", png, n, describeAugment(cfg, g))
	}
	if archive != "" {
		if err := samples.npz(archive); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "Wrote %s: index, labels, affine and images of %d training images, %s\n", archive, n, describeAugment(cfg, g))
	}
	return nil
}

// augmentedSamples are training images as the device warped them.
type augmentedSamples struct {
	geometry augment.Geometry
	order    []uint32  // training-set index of each sample
	labels   []byte    // the whole training set's labels
	names    []string  // the classes' names, where known
	affines  []float32 // 6 a sample
	pixels   []float32 // the geometry's values a sample, HWC
}

func (s augmentedSamples) grid(path string) error {
	size := s.geometry.Values()
	images := make([][]float32, len(s.order))
	labels := make([]string, len(s.order))
	for i, idx := range s.order {
		images[i] = s.pixels[i*size : (i+1)*size]
		labels[i] = className(s.names, int(s.labels[idx]))
	}
	return report.ImageGrid(path, s.geometry, images, labels)
}

// npz writes the samples as a NumPy archive; nested slices give npyio the
// shapes (N, 6) and (N, H, W), or (N, H, W, C) for colour.
func (s augmentedSamples) npz(path string) error {
	n, g := len(s.order), s.geometry
	index := make([]int64, n)
	labels := make([]uint8, n)
	affine := make([][6]float32, n)
	rows := make([][][]float32, n) // each image's rows of values, HWC
	for i, idx := range s.order {
		index[i], labels[i] = int64(idx), s.labels[idx]
		copy(affine[i][:], s.affines[6*i:])
		rows[i] = make([][]float32, g.Height)
		for y := range g.Height {
			start := (i*g.Height + y) * g.Width * g.Channels
			rows[i][y] = s.pixels[start : start+g.Width*g.Channels]
		}
	}
	var images any = rows
	if g.Channels > 1 {
		images = splitChannels(rows, g.Channels)
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		z := npz.NewWriter(w)
		for _, entry := range []struct {
			name  string
			value any
		}{{"index", index}, {"labels", labels}, {"affine", affine}, {"images", images}} {
			if err := z.Write(entry.name+".npy", entry.value); err != nil {
				return err
			}
		}
		return z.Close()
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// splitChannels turns rows of HWC values into rows of pixels of channels
// values each.
func splitChannels(rows [][][]float32, channels int) [][][][]float32 {
	out := make([][][][]float32, len(rows))
	for i, image := range rows {
		out[i] = make([][][]float32, len(image))
		for y, row := range image {
			out[i][y] = make([][]float32, len(row)/channels)
			for x := range out[i][y] {
				out[i][y][x] = row[x*channels : (x+1)*channels]
			}
		}
	}
	return out
}

func describeAugment(cfg augment.Config, g augment.Geometry) string {
	how := fmt.Sprintf("%s interpolation, fill %s", cfg.Interp, cfg.FillMode())
	switch cfg.Flip {
	case augment.Horizontal:
		how = "half of them mirrored left-right, " + how
	case augment.Vertical:
		how = "half of them mirrored top-bottom, " + how
	case augment.BothFlips:
		how = "half of them mirrored left-right and half top-bottom, " + how
	}
	switch {
	case cfg.ShiftFrac > 0 && g.Width == g.Height:
		return fmt.Sprintf("shifted by up to %.3g pixels, %s", cfg.ShiftFrac*float64(g.Width), how)
	case cfg.ShiftFrac > 0:
		return fmt.Sprintf("shifted by up to %.3g pixels across and %.3g down, %s", cfg.ShiftFrac*float64(g.Width), cfg.ShiftFrac*float64(g.Height), how)
	case cfg.ShiftPx > 0:
		return fmt.Sprintf("shifted by up to %d whole pixels, %s", cfg.ShiftPx, how)
	}
	return "not shifted, " + how
}

// warpOnDevice gathers images[order] (of g) on the device and warps each
// by its affine: the same shader training uses.
func warpOnDevice(ctx *vk.Context, images []byte, g augment.Geometry, order []uint32, affines []float32, warp augment.Sampling) ([]float32, error) {
	n, size := len(order), g.Values()
	var bufs vk.Buffers
	defer bufs.Close()
	set, err := bufs.New(ctx, int64(len(images)))
	if err != nil {
		return nil, err
	}
	orderBuf, err := bufs.New(ctx, 4*int64(n))
	if err != nil {
		return nil, err
	}
	affineBuf, err := bufs.New(ctx, 4*int64(len(affines)))
	if err != nil {
		return nil, err
	}
	out, err := bufs.New(ctx, 4*int64(min(n, warpChunk)*size))
	if err != nil {
		return nil, err
	}
	if err := errors.Join(set.Write(0, images), orderBuf.WriteUint32(0, order), affineBuf.WriteFloat32(0, affines)); err != nil {
		return nil, err
	}
	pixels := make([]float32, n*size)
	for first := 0; first < n; first += warpChunk {
		count := min(warpChunk, n-first)
		chunk := vk.Range{Buf: affineBuf, Offset: int64(4 * 6 * first), Size: int64(4 * 6 * count)}
		if err := warpChunkOnDevice(ctx, kernels.AugmentArgs{Images: vk.Whole(set), N: len(images) / size, Geometry: g,
			Order: vk.Whole(orderBuf), First: first, Affines: chunk, Out: vk.Whole(out), Batch: count, Sampling: warp}); err != nil {
			return nil, err
		}
		if err := out.ReadFloat32(0, pixels[first*size:(first+count)*size]); err != nil {
			return nil, err
		}
	}
	return pixels, nil
}

// warpChunk is the most samples one recording warps, which bounds the
// output buffer; the affines' offset of a chunk (24 bytes a sample) keeps
// any offset alignment up to 256 bytes.
const warpChunk = 4096

func warpChunkOnDevice(ctx *vk.Context, a kernels.AugmentArgs) error {
	rec, err := ctx.NewRecording()
	if err != nil {
		return err
	}
	defer rec.Close()
	if err := kernels.Augment(ctx, rec, a); err != nil {
		return err
	}
	return rec.Run()
}
