package dataset

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

// cacheHere keeps a test's decoded caches in its own folder.
func cacheHere(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("VKCNN_CACHE", dir)
	return dir
}

// TestImageFolderMNISTAsPNG writes part of the real MNIST as PNG files in
// train/DIGIT/ and test/DIGIT/ and reads back exactly the IDX images and
// labels, class by class.
func TestImageFolderMNISTAsPNG(t *testing.T) {
	idx, err := Load(filepath.Join("..", DefaultDir))
	if errors.Is(err, ErrNoData) {
		t.Skipf("no MNIST (./build.sh data fetches it): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cacheHere(t)
	dir, g := t.TempDir(), idx.Geometry
	const nTrain, nTest = 600, 200
	parts := []struct {
		name string
		set  *Set
		n    int
	}{{"train", idx.Train, nTrain}, {"test", idx.Test, nTest}}
	for _, p := range parts {
		datatest.ImageFolder(t, filepath.Join(dir, p.name), "png", g, p.set.Images[:p.n*g.Values()], p.set.Labels[:p.n], nil)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Geometry != g || d.Classes != 10 || !slices.Equal(d.Names, strings.Fields("0 1 2 3 4 5 6 7 8 9")) {
		t.Fatalf("got %v, %d classes %v; want %v, the 10 digits", d.Geometry, d.Classes, d.Names, g)
	}
	for i, got := range []*Set{d.Train, d.Test} {
		p := parts[i]
		// The folder holds the images class by class, each class's in
		// file order (their names are their indices).
		order := make([]int, p.n)
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int { return int(p.set.Labels[a]) - int(p.set.Labels[b]) })
		if got.N != p.n {
			t.Fatalf("%s: %d images, want %d", p.name, got.N, p.n)
		}
		for j, k := range order {
			if got.Labels[j] != p.set.Labels[k] || !bytes.Equal(got.Images[j*g.Values():(j+1)*g.Values()], p.set.Images[k*g.Values():(k+1)*g.Values()]) {
				t.Fatalf("%s: image %d (IDX image %d) differs from the IDX file's, or its label %d from %d", p.name, j, k, got.Labels[j], p.set.Labels[k])
			}
		}
	}
}

// uniformImage is an image of one colour everywhere, whose resizing and
// conversion are known whatever the interpolation.
func uniformImage(h, w, channels int, v []byte) []byte {
	out := make([]byte, 0, h*w*channels)
	for range h * w {
		out = append(out, v...)
	}
	return out
}

// TestImageFolderMixed reads PNG and JPEG, gray and RGB, of two sizes,
// resized to one and converted to either colour, classes in sorted order.
func TestImageFolderMixed(t *testing.T) {
	cacheHere(t)
	dir := t.TempDir()
	type file struct {
		class, name  string
		h, w         int
		channels     int
		value        []byte
		tol          int // JPEG is lossy
		gray, colour []byte
	}
	files := []file{
		{"dog", "a.png", 10, 12, 3, []byte{200, 100, 50}, 0, []byte{124}, []byte{200, 100, 50}},
		{"dog", "b.jpg", 20, 24, 1, []byte{90}, 1, []byte{90}, []byte{90, 90, 90}},
		{"ant", "c.jpg", 20, 24, 3, []byte{30, 160, 220}, 3, []byte{128}, []byte{30, 160, 220}},
		{"ant", "d.png", 10, 12, 1, []byte{7}, 0, []byte{7}, []byte{7, 7, 7}},
		{"cat", "e.PNG", 20, 24, 3, []byte{255, 0, 0}, 0, []byte{76}, []byte{255, 0, 0}},
	}
	for _, f := range files {
		g := augment.Geometry{Height: f.h, Width: f.w, Channels: f.channels}
		var buf bytes.Buffer
		ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(f.name), "."))
		if err := datatest.EncodeImage(&buf, ext, g, uniformImage(f.h, f.w, f.channels, f.value)); err != nil {
			t.Fatal(err)
		}
		for _, split := range []string{"train", "test"} {
			datatest.Write(t, mkdir(t, dir, split, f.class), map[string][]byte{f.name: buf.Bytes(), "notes.txt": []byte("ignored")})
		}
	}
	// Read in class order (ant, cat, dog), each class's files by name.
	order := []int{2, 3, 4, 0, 1}
	for _, color := range []Color{RGB, Grayscale} {
		d, err := LoadWith(dir, Options{Size: Size{Height: 5, Width: 6}, Color: color})
		if err != nil {
			t.Fatal(err)
		}
		g := augment.Geometry{Height: 5, Width: 6, Channels: color.Channels()}
		if d.Geometry != g || !slices.Equal(d.Names, []string{"ant", "cat", "dog"}) || d.Format != "image folders (train/ and test/)" {
			t.Fatalf("%v: got %v, classes %v, %s; want %v, ant cat dog", color, d.Geometry, d.Names, d.Format, g)
		}
		for _, set := range []*Set{d.Train, d.Test} {
			if !bytes.Equal(set.Labels, []uint8{0, 0, 1, 2, 2}) {
				t.Errorf("%v: labels %v, want 0 0 1 2 2", color, set.Labels)
			}
			for i, k := range order {
				f := files[k]
				want := f.colour
				if color == Grayscale {
					want = f.gray
				}
				img := set.Images[i*g.Values() : (i+1)*g.Values()]
				for j, v := range img {
					if d := int(v) - int(want[j%len(want)]); d < -f.tol || d > f.tol {
						t.Fatalf("%v: %s/%s value %d is %d, want %d (within %d)", color, f.class, f.name, j, v, want[j%len(want)], f.tol)
					}
				}
			}
		}
	}
	// Without --image-size the first image of another size is named.
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "train", "ant", "d.png")+" is 10x12, "+filepath.Join(dir, "train", "ant", "c.jpg")+" 20x24") {
		t.Errorf("two sizes without --image-size: got %v", err)
	}
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(parts...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestResizeAsTensorFlow checks the bilinear resize against values worked
// out by hand from TensorFlow's half-pixel-centre rule: no antialiasing,
// so halving a row averages pairs rather than widening the kernel.
func TestResizeAsTensorFlow(t *testing.T) {
	for _, c := range []struct {
		src        []byte
		h, w       int
		size       Size
		want       []byte
		whatItDoes string
	}{
		{[]byte{0, 255}, 1, 2, Size{1, 4}, []byte{0, 64, 191, 255}, "enlarge: 63.75 and 191.25, rounded"},
		{[]byte{0, 100, 200, 40}, 1, 4, Size{1, 2}, []byte{50, 120}, "halve: pairs averaged, no antialiasing"},
		{[]byte{0, 100, 200, 40}, 2, 2, Size{3, 3}, []byte{0, 50, 100, 100, 85, 70, 200, 120, 40}, "2x2 to 3x3"},
		{[]byte{1, 2, 3, 4, 5, 6}, 1, 2, Size{1, 2}, []byte{1, 2, 3, 4, 5, 6}, "same size: untouched"},
	} {
		channels := len(c.src) / (c.h * c.w)
		if got := Resize(c.src, c.h, c.w, channels, c.size); !bytes.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.whatItDoes, got, c.want)
		}
	}
}

// TestPixelsColour checks the BT.601 weights and that RGB drops alpha
// unblended.
func TestPixelsColour(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	for x, c := range []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {10, 20, 30, 0}} {
		img.SetNRGBA(x, 0, c)
	}
	if got := Pixels(img, 1); !bytes.Equal(got, []byte{76, 150, 29, 18}) {
		t.Errorf("grayscale: got %v, want 76 150 29 18 (0.299 R + 0.587 G + 0.114 B)", got)
	}
	if got := Pixels(img, 3); !bytes.Equal(got, []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30}) {
		t.Errorf("rgb: got %v", got)
	}
}

// writeTree writes classes of n gray 4x3 PNG images each into dir, image
// k of class c holding c*n+k in its first pixel.
func writeTree(t *testing.T, dir string, classes []string, n int) {
	t.Helper()
	g := augment.Geometry{Height: 4, Width: 3, Channels: 1}
	var images []byte
	var labels []uint8
	for c := range classes {
		for k := range n {
			img := make([]byte, g.Values())
			img[0], img[1] = byte(c*n+k), byte(c)
			images, labels = append(images, img...), append(labels, uint8(c))
		}
	}
	datatest.ImageFolder(t, dir, "png", g, images, labels, classes)
}

// TestImageFolderCache reads a folder again from its cache, and never
// from a cache of another version of the folder.
func TestImageFolderCache(t *testing.T) {
	cache := cacheHere(t)
	dir := t.TempDir()
	writeTree(t, filepath.Join(dir, "train"), []string{"a", "b"}, 3)
	writeTree(t, filepath.Join(dir, "test"), []string{"a", "b"}, 2)
	first, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(first.Cache) != cache {
		t.Fatalf("cache %s, want it in %s", first.Cache, cache)
	}
	decoded := slices.Clone(first.Test.Images)
	// Change the cached copy of the last test image in place: a load
	// that reads the cache sees the change, and so does the first load's
	// set, which is the file mapped, not a copy read in.
	f, err := os.OpenFile(first.Cache, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt([]byte{99}, info.Size()-1)
	}
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	if mapped && first.Test.Images[len(first.Test.Images)-1] != 99 {
		t.Error("the set is a copy of the cache, not the cache file mapped")
	}
	again, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Test.Images[len(again.Test.Images)-1] != 99 {
		t.Fatal("the second load did not read the cache")
	}
	// A file touched, another size, or another colour is another key.
	img := filepath.Join(dir, "test", "b", "00003.png")
	if err := os.Chtimes(img, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fresh, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh.Test.Images, decoded) || fresh.Cache == first.Cache {
		t.Errorf("a touched file read the stale cache (%s)", fresh.Cache)
	}
	if caches, _ := filepath.Glob(filepath.Join(cache, "*")); len(caches) != 1 {
		t.Errorf("the folder's old cache was kept: %v", caches)
	}
	for _, opts := range []Options{{Color: RGB}, {Size: Size{Height: 2, Width: 3}}} {
		d, err := LoadWith(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d.Cache == fresh.Cache {
			t.Errorf("%+v read the cache of other settings", opts)
		}
	}
}

// TestImageFolderSingleTree shuffles a tree with the seed and holds out
// its last part as the test set.
func TestImageFolderSingleTree(t *testing.T) {
	cacheHere(t)
	dir := t.TempDir()
	const n = 20
	writeTree(t, dir, []string{"x", "y", "z"}, n)
	g := 12
	d, err := LoadWith(dir, Options{Seed: 1, ValSplit: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 3*n || d.Test.N != 15 || !bytes.Equal(d.Test.Images, d.Train.Images[45*g:]) || !bytes.Equal(d.Test.Labels, d.Train.Labels[45:]) {
		t.Fatalf("got %d training and %d test images; want 60, and the test set the last 15 of them", d.Train.N, d.Test.N)
	}
	seen, held := make([]bool, 3*n), map[uint8]bool{}
	for i := range d.Train.N {
		id, class := d.Train.Images[i*g], d.Train.Images[i*g+1]
		if seen[id] || d.Train.Labels[i] != class {
			t.Fatalf("sample %d: image %d again, or label %d for class %d", i, id, d.Train.Labels[i], class)
		}
		seen[id] = true
		if i >= 45 {
			held[class] = true
		}
	}
	if len(held) != 3 {
		t.Errorf("the held-out part holds classes %v: not shuffled", held)
	}
	other, err := LoadWith(dir, Options{Seed: 2, ValSplit: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.Train.Images, d.Train.Images) {
		t.Error("seeds 1 and 2 shuffled alike")
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "--val-split") {
		t.Errorf("one tree without a split: got %v", err)
	}
}

// TestImageFolderRefusals refuses each bad folder in one line naming the
// first bad file or folder and counting the others.
func TestImageFolderRefusals(t *testing.T) {
	cacheHere(t)
	for _, c := range []struct {
		name   string
		spoil  func(t *testing.T, dir string)
		want   string // after the folder's path
		unread string // a folder readDir fails on
	}{
		{"undecodable", func(t *testing.T, dir string) {
			datatest.Write(t, filepath.Join(dir, "train", "a"), map[string][]byte{"bad.png": []byte("not a PNG"), "worse.jpg": nil})
		}, "train/a/bad.png: cannot be decoded as PNG, JPEG, GIF, BMP or WebP: image: unknown format (and 1 more bad files or folders)", ""},
		{"empty class", func(t *testing.T, dir string) {
			datatest.Write(t, mkdir(t, dir, "train", "c"), map[string][]byte{"notes.txt": nil})
		}, "train/c: class folder with no PNG, JPEG, GIF, BMP or WebP image", ""},
		{"class only in test", func(t *testing.T, dir string) {
			writeTree(t, filepath.Join(dir, "test"), []string{"d", "e"}, 1)
		}, `test/d: class "d" has no folder in`, ""},
		{"unreadable folder", func(t *testing.T, dir string) {}, "train/b: cannot read the folder: permission denied", "b"},
		{"no test", func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, "test")); err != nil {
				t.Fatal(err)
			}
		}, ": it has train/ but neither test/ nor val/ beside it", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, filepath.Join(dir, "train"), []string{"a", "b"}, 2)
			writeTree(t, filepath.Join(dir, "test"), []string{"a", "b"}, 1)
			c.spoil(t, dir)
			if c.unread != "" {
				readDir = func(name string) ([]fs.DirEntry, error) {
					if filepath.Base(name) == c.unread {
						return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
					}
					return os.ReadDir(name)
				}
				defer func() { readDir = os.ReadDir }()
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v,\nwant one line with %q", err, c.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("%v: does not name the folder", err)
			}
			caches, _ := filepath.Glob(filepath.Join(os.Getenv("VKCNN_CACHE"), "*"))
			if len(caches) != 0 {
				t.Errorf("a refused folder was cached: %v", caches)
			}
		})
	}
}

// TestImageFolderWithoutCache decodes a folder whose cache cannot be
// written into memory, with a warning, to the same images.
func TestImageFolderWithoutCache(t *testing.T) {
	cacheHere(t)
	dir := t.TempDir()
	writeTree(t, filepath.Join(dir, "train"), []string{"a", "b"}, 3)
	writeTree(t, filepath.Join(dir, "test"), []string{"a", "b"}, 2)
	cached, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VKCNN_CACHE", "/proc/vkcnn-cache") // no folder can be made there
	var log bytes.Buffer
	d, err := LoadWith(dir, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if d.Cache != "" || !strings.Contains(log.String(), "warning: decoded cache: ") || !strings.Contains(log.String(), "decoded again next time") {
		t.Errorf("cache %q, log %q", d.Cache, log.String())
	}
	if !bytes.Equal(d.Train.Images, cached.Train.Images) || !bytes.Equal(d.Test.Images, cached.Test.Images) ||
		!bytes.Equal(d.Train.Labels, cached.Train.Labels) || !bytes.Equal(d.Test.Labels, cached.Test.Labels) {
		t.Error("the images decoded into memory are not the cached ones")
	}
}
