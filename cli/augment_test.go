package cli

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/internal/pngtest"
)

// digits is MNIST's geometry.
var digits = augment.Geometry{Width: 28, Height: 28, Channels: 1}

// TestAugmentNPZ writes an archive (of more samples than one dispatch
// warps) and checks that every entry has its shape and type, that index,
// labels and affine belong together, and that images hold exactly the
// reference warp of each indexed training digit (the warp itself is
// checked against SciPy in nn/kernels).
func TestAugmentNPZ(t *testing.T) {
	data := dataDir(t)
	dir := t.TempDir()
	archive, grid := filepath.Join(dir, "samples.npz"), filepath.Join(dir, "samples.png")
	const n = warpChunk + 100
	out := mustRun(t, "augment", "--shift", "0.1", "--n", fmt.Sprint(n), "--seed", "5", "--npz", archive, "--data", data)
	if !strings.Contains(out, "nearest interpolation, fill nearest") {
		t.Errorf("output does not say how the digits were warped:\n%s", out)
	}
	mustRun(t, "augment", "--shift-px", "2", "--n", "40", "--out", grid, "--data", data)
	pngtest.Decode(t, grid, 6+7*90, 6+6*106) // 7 columns and 6 rows of 84-pixel digits
	r, err := npz.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	shapes := map[string]struct {
		shape string
		descr string
	}{"index.npy": {fmt.Sprint([]int{n}), "<i8"}, "labels.npy": {fmt.Sprint([]int{n}), "|u1"},
		"affine.npy": {fmt.Sprint([]int{n, 6}), "<f4"}, "images.npy": {fmt.Sprint([]int{n, 28, 28}), "<f4"}}
	for name, want := range shapes {
		h := r.Header(name)
		if h == nil {
			t.Fatalf("no %s in %v", name, r.Keys())
		}
		if got := fmt.Sprint(h.Descr.Shape); got != want.shape || strings.Trim(h.Descr.Type, "'") != want.descr {
			t.Errorf("%s: shape %s, type %s; want %s, %s", name, got, h.Descr.Type, want.shape, want.descr)
		}
	}
	var index []int64
	var labels []uint8
	var affine, images []float32
	for name, ptr := range map[string]any{"index.npy": &index, "labels.npy": &labels, "affine.npy": &affine, "images.npy": &images} {
		if err := r.Read(name, ptr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	d, err := dataset.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	train, size := d.Train, digits.Values()
	moved := 0
	for i := range n {
		idx := int(index[i])
		if idx < 0 || idx >= train.N || labels[i] != train.Labels[idx] {
			t.Fatalf("sample %d: index %d, label %d", i, idx, labels[i])
		}
		var a augment.Affine
		copy(a[:], affine[6*i:])
		if a[0] != 1 || a[1] != 0 || a[3] != 0 || a[4] != 1 || max(abs32(a[2]), abs32(a[5])) > 2.8 {
			t.Fatalf("sample %d: affine %v is not a shift of up to 2.8 pixels", i, a)
		}
		if abs32(a[2]) >= 0.5 || abs32(a[5]) >= 0.5 {
			moved++
		}
		want := augment.Warp(train.Images[idx*size:(idx+1)*size], digits, a, augment.Sampling{})
		for p, v := range want {
			if got := images[i*size+p]; got != v {
				t.Fatalf("sample %d (index %d, affine %v): pixel (x %d, y %d) = %v, want %v", i, idx, a, p%28, p/28, got, v)
			}
		}
	}
	if moved < n/2 {
		t.Errorf("only %d of %d samples moved by a pixel or more", moved, n)
	}
}

func abs32(v float32) float32 { return max(v, -v) }

func TestAugmentBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"augment", "--shift", "0.1"}, "nothing to write"},
		{[]string{"augment", "--n", "0", "--npz", "x.npz"}, "--n 0"},
		{[]string{"augment", "--shift", "0.1", "--interp", "cubic", "--npz", "x.npz"}, "unknown interpolation \"cubic\""},
		{[]string{"train", "--shift", "0.1", "--interp", "cubic"}, "unknown interpolation \"cubic\""},
	} {
		_, stderr, status := runVkcnn(t, nil, c.args...)
		if status != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("vkcnn %s: status %d, stderr %q; want status 1 and one line with %q", strings.Join(c.args, " "), status, stderr, c.want)
		}
	}
}

// TestAugmentFlipAndCropPad draws colour images with --crop-pad 2 and
// --flip both on the device: each is the padded training image cropped at
// an offset in [0, 4]^2 and mirrored or not, every offset comes, and each
// mirror about half the time.
func TestAugmentFlipAndCropPad(t *testing.T) {
	data := writeCIFAR(t, rand.New(rand.NewPCG(15, 16)), []string{"a", "b"}, 400, 8)
	g := data.geometry
	archive := filepath.Join(t.TempDir(), "samples.npz")
	const n = 400
	out := mustRun(t, "augment", "--crop-pad", "2", "--flip", "both", "--n", fmt.Sprint(n), "--npz", archive, "--data", data.dir)
	if !strings.Contains(out, "shifted by up to 2 whole pixels, half of them mirrored left-right and half top-bottom") {
		t.Errorf("augment does not say it flips:\n%s", out)
	}
	r, err := npz.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var index []int64
	var images []float32
	if err := errors.Join(r.Read("index.npy", &index), r.Read("images.npy", &images)); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.Load(data.dir)
	if err != nil {
		t.Fatal(err)
	}
	offsets, mirrors := map[[2]int]int{}, [2]int{}
	for i, idx := range index {
		img := d.Train.Images[int(idx)*g.Values() : (int(idx)+1)*g.Values()]
		got := make([]byte, g.Values())
		for p, v := range images[i*g.Values() : (i+1)*g.Values()] {
			got[p] = byte(v*255 + 0.5)
		}
		found := 0
		for top := range 5 {
			for left := range 5 {
				for m := range 4 {
					if bytes.Equal(got, datatest.PadCrop(img, g, 2, top, left, m&1 == 1, m&2 == 2)) {
						found++
						offsets[[2]int{top, left}]++
						mirrors[0] += m & 1
						mirrors[1] += m >> 1
					}
				}
			}
		}
		if found != 1 {
			t.Fatalf("sample %d (image %d) is %d padded crops of its image, want 1", i, idx, found)
		}
	}
	if len(offsets) != 25 || mirrors[0] < n/2-50 || mirrors[0] > n/2+50 || mirrors[1] < n/2-50 || mirrors[1] > n/2+50 {
		t.Errorf("%d of 25 offsets came; mirrored %v of %d times", len(offsets), mirrors, n)
	}
}
