package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers the formats image.Decode reads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/vkcnn/vkcnn/augment"
)

// imageExtensions are the files an image folder's classes hold, as
// Keras' image_dataset_from_directory picks them by name (with WebP);
// other files are ignored.
var imageExtensions = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}

// formats names the decodable formats in errors.
const formats = "PNG, JPEG, GIF, BMP or WebP"

// Size is the size --image-size resizes every image to; the zero Size
// keeps each image's own.
type Size struct{ Height, Width int }

// ParseSize reads HxW, as 28x28.
func ParseSize(s string) (Size, error) {
	h, w, ok := strings.Cut(s, "x")
	height, errH := strconv.Atoi(h)
	width, errW := strconv.Atoi(w)
	if !ok || errH != nil || errW != nil || height < 1 || width < 1 || height > MaxSide || width > MaxSide {
		return Size{}, fmt.Errorf("--image-size %q: want HEIGHTxWIDTH, as 32x32, each side in 1..%d", s, MaxSide)
	}
	return Size{Height: height, Width: width}, nil
}

func (s Size) String() string {
	if s == (Size{}) {
		return ""
	}
	return fmt.Sprintf("%dx%d", s.Height, s.Width)
}

// Color is how an image folder's images are converted: ColorAuto keeps
// them grayscale where every image is stored so, else RGB.
type Color int

const (
	ColorAuto Color = iota
	Grayscale
	RGB
)

// ParseColor reads grayscale, rgb, or "" for ColorAuto.
func ParseColor(s string) (Color, error) {
	switch s {
	case "":
		return ColorAuto, nil
	case "grayscale":
		return Grayscale, nil
	case "rgb":
		return RGB, nil
	}
	return 0, fmt.Errorf("--color %q: grayscale or rgb", s)
}

func (c Color) String() string {
	switch c {
	case Grayscale:
		return "grayscale"
	case RGB:
		return "rgb"
	}
	return ""
}

// Channels is the values a pixel of the color has.
func (c Color) Channels() int {
	if c == RGB {
		return 3
	}
	return 1
}

// grayModel says whether a decoded format's color model holds gray
// values only.
func grayModel(m color.Model) bool {
	return m == color.GrayModel || m == color.Gray16Model
}

// DecodeFile decodes an image file: PNG, JPEG, GIF, BMP or WebP.
func DecodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, notReadable(path, err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if err := readable(path, f, r); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot be decoded as %s: %w", path, formats, err)
	}
	return img, nil
}

// readable says, in one line, what makes the open file f at path not an
// image to decode: a folder, empty, or unreadable (image.Decode would
// call each an unknown format).
func readable(path string, f *os.File, r *bufio.Reader) error {
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return fmt.Errorf("%s: a folder, not an image file (give the images in it, as %s)", path, filepath.Join(path, "*.png"))
	}
	_, err := r.Peek(1)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: an empty file, not an image", path)
	}
	if err != nil {
		return notReadable(path, err)
	}
	return nil
}

// notReadable is the one line for a path that cannot be opened or read:
// missing, or the system's reason.
func notReadable(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file", path)
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // the path is said once
	}
	return fmt.Errorf("%s: cannot be read: %w", path, err)
}

// ReadImage decodes an image file into HWC bytes of g as an image
// folder's images are read: converted by Pixels, resized by Resize.
func ReadImage(path string, g augment.Geometry) ([]byte, error) {
	img, err := DecodeFile(path)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	return Resize(Pixels(img, g.Channels), b.Dy(), b.Dx(), g.Channels, Size{Height: g.Height, Width: g.Width}), nil
}

// decodeConfig reads an image file's size and color model from its
// header.
func decodeConfig(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, notReadable(path, err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if err := readable(path, f, r); err != nil {
		return image.Config{}, err
	}
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return cfg, fmt.Errorf("%s: cannot be decoded as %s: %w", path, formats, err)
	}
	return cfg, nil
}

// Pixels converts img to HWC bytes of channels (1 or 3) at its own size.
// RGB drops alpha without blending (PIL's convert("RGB"), which Keras
// uses); grayscale of a colour image is the ITU-R BT.601 luma, 0.299 R +
// 0.587 G + 0.114 B, the weights of PIL's convert("L"), TensorFlow's
// rgb_to_grayscale and Go's color.GrayModel, rounded to nearest.
func Pixels(img image.Image, channels int) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]byte, w*h*channels)
	if g, ok := img.(*image.Gray); ok {
		for y := range h {
			row := g.Pix[y*g.Stride : y*g.Stride+w]
			if channels == 1 {
				copy(out[y*w:], row)
				continue
			}
			for x, v := range row {
				o := (y*w + x) * 3
				out[o], out[o+1], out[o+2] = v, v, v
			}
		}
		return out
	}
	for y := range h {
		for x := range w {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			o := (y*w + x) * channels
			if channels == 3 {
				out[o], out[o+1], out[o+2] = c.R, c.G, c.B
			} else {
				out[o] = luma(c.R, c.G, c.B)
			}
		}
	}
	return out
}

// luma is BT.601's weighted sum in 16-bit fixed point (the weights sum
// to 65536), rounded to nearest.
func luma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// Resize scales HWC bytes of h x w x channels to size by bilinear
// interpolation with half-pixel centres and no antialiasing, as
// TensorFlow's tf.image.resize(method="bilinear") does by default (and so
// Keras' image_dataset_from_directory): each output value blends the two
// by two source pixels around its centre, however much the image shrinks.
// It computes in float32 as TensorFlow does and rounds to the nearest
// byte, halves up, where TensorFlow keeps the float.
func Resize(src []byte, h, w, channels int, size Size) []byte {
	if h == size.Height && w == size.Width {
		return src
	}
	ys, xs := resizeTaps(h, size.Height), resizeTaps(w, size.Width)
	out := make([]byte, size.Height*size.Width*channels)
	at := func(y, x, c int) float32 { return float32(src[(y*w+x)*channels+c]) }
	for oy, ty := range ys {
		for ox, tx := range xs {
			for c := range channels {
				top := at(ty.lower, tx.lower, c) + (at(ty.lower, tx.upper, c)-at(ty.lower, tx.lower, c))*tx.lerp
				bottom := at(ty.upper, tx.lower, c) + (at(ty.upper, tx.upper, c)-at(ty.upper, tx.lower, c))*tx.lerp
				v := top + (bottom-top)*ty.lerp
				out[(oy*size.Width+ox)*channels+c] = uint8(min(max(math.Floor(float64(v)+0.5), 0), 255))
			}
		}
	}
	return out
}

// tap is where an output row (or column) reads the source: the two
// source rows around its centre and the weight of the upper one.
type tap struct {
	lower, upper int
	lerp         float32
}

// resizeTaps are TensorFlow's half-pixel-centre taps for scaling a side
// of in pixels to out.
func resizeTaps(in, out int) []tap {
	scale := float32(in) / float32(out)
	taps := make([]tap, out)
	for i := range taps {
		c := (float32(i)+0.5)*scale - 0.5
		f := float32(math.Floor(float64(c)))
		taps[i] = tap{lower: max(int(f), 0), upper: min(int(math.Ceil(float64(c))), in-1), lerp: c - f}
	}
	return taps
}
