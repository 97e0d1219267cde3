// Package datatest makes small data sets in the file formats the dataset
// package reads, for tests.
package datatest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
)

// IDX magic numbers: unsigned bytes, and the number of dimensions.
const (
	labelMagic = 0x00000801
	imageMagic = 0x00000803
)

// IDX encodes an IDX file: magic, the dimensions as big-endian uint32s,
// then the payload.
func IDX(magic uint32, dims []int, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, payload...)
}

// IDXImages encodes n one-channel images of g as an IDX image file.
func IDXImages(g augment.Geometry, n int, images []byte) []byte {
	return IDX(imageMagic, []int{n, g.Height, g.Width}, images)
}

// IDXLabels encodes labels as an IDX label file.
func IDXLabels(labels []uint8) []byte {
	return IDX(labelMagic, []int{len(labels)}, labels)
}

// CIFAR encodes HWC images of g and their labels as CIFAR-10's binary
// records: a label byte, then the values channel by channel.
func CIFAR(g augment.Geometry, images []byte, labels []uint8) []byte {
	var b []byte
	for i, l := range labels {
		img := images[i*g.Values() : (i+1)*g.Values()]
		b = append(b, l)
		for c := range g.Channels {
			for p := range g.Width * g.Height {
				b = append(b, img[p*g.Channels+c])
			}
		}
	}
	return b
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// Learnable makes n images of g whose labels, 0 to classes-1, a small
// network learns in a few dozen steps: class k is a light band across
// the k-th of classes equal bands of rows, in channel k mod channels, over
// dark noise.
func Learnable(rng *rand.Rand, g augment.Geometry, classes, n int) ([]byte, []uint8) {
	images, labels := make([]byte, n*g.Values()), make([]uint8, n)
	for i := range n {
		k := rng.IntN(classes)
		labels[i] = uint8(k)
		img := images[i*g.Values() : (i+1)*g.Values()]
		for j := range img {
			y, c := j/(g.Width*g.Channels), j%g.Channels
			if y*classes/g.Height == k && c == k%g.Channels {
				img[j] = byte(170 + rng.IntN(86))
			} else {
				img[j] = byte(rng.IntN(90))
			}
		}
	}
	return images, labels
}

// Write writes each named file into dir.
func Write(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ImageFolder writes HWC images of g into dir/CLASS/NNNNN.ext, CLASS a
// label's name (names[label], else its number) and NNNNN the image's
// index, as PNG (lossless) or JPEG (quality 100): the layout of Keras'
// image_dataset_from_directory. One channel writes gray images, three RGB.
func ImageFolder(t testing.TB, dir, ext string, g augment.Geometry, images []byte, labels []uint8, names []string) {
	t.Helper()
	for i, l := range labels {
		class := fmt.Sprint(l)
		if int(l) < len(names) {
			class = names[l]
		}
		folder := filepath.Join(dir, class)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := EncodeImage(&buf, ext, g, images[i*g.Values():(i+1)*g.Values()]); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, fmt.Sprintf("%05d.%s", i, ext)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// EncodeImage writes an HWC image of g as a PNG or JPEG (quality 100)
// file, gray for one channel and RGB for three.
func EncodeImage(w io.Writer, ext string, g augment.Geometry, px []byte) error {
	rect := image.Rect(0, 0, g.Width, g.Height)
	var img image.Image
	if g.Channels == 1 {
		img = &image.Gray{Pix: px, Stride: g.Width, Rect: rect}
	} else {
		rgba := image.NewNRGBA(rect)
		for p := range g.Width * g.Height {
			copy(rgba.Pix[4*p:], px[3*p:3*p+3])
			rgba.Pix[4*p+3] = 255
		}
		img = rgba
	}
	if ext == "jpg" {
		return jpeg.Encode(w, img, &jpeg.Options{Quality: 100})
	}
	return png.Encode(w, img)
}

// NPY encodes an array as NumPy's .npy format 1.0: dtype as NumPy writes
// it ("|u1", "<f4", ...), C order, and the little-endian payload.
func NPY(dtype string, shape []int, payload []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += "," // Python's one-tuple
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, tuple)
	// The magic, version and length take 10 bytes; the header is padded
	// with spaces and a newline to a multiple of 64.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	return append(append(b, header...), payload...)
}

// NPZ zips .npy files as numpy.savez_compressed does, NAME.npy each.
func NPZ(arrays map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range arrays {
		f, err := w.Create(name + ".npy")
		if err != nil {
			panic(err) // writing to memory
		}
		f.Write(data)
	}
	w.Close()
	return buf.Bytes()
}

// PadCrop is torchvision's RandomCrop(size, padding=p) at one offset,
// then RandomHorizontalFlip's and RandomVerticalFlip's mirrors, written as
// NumPy would: np.pad(img, p) (zeros), the window [top:top+h, left:left+w],
// then [:, ::-1] and [::-1, :]. HWC bytes of g.
func PadCrop(img []byte, g augment.Geometry, p, top, left int, mirrorX, mirrorY bool) []byte {
	out := make([]byte, 0, g.Values())
	for y := range g.Height {
		for x := range g.Width {
			sx, sy := x, y
			if mirrorX {
				sx = g.Width - 1 - x
			}
			if mirrorY {
				sy = g.Height - 1 - y
			}
			px, py := sx+left-p, sy+top-p
			for c := range g.Channels {
				v := byte(0)
				if px >= 0 && px < g.Width && py >= 0 && py < g.Height {
					v = img[(py*g.Width+px)*g.Channels+c]
				}
				out = append(out, v)
			}
		}
	}
	return out
}
