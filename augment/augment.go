// Package augment draws random affine transforms of images and warps
// images with them. The GPU does the warping (shaders/augment.comp); Warp
// here is its plain-Go reference.
package augment

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/go-gl/mathgl/mgl32"
)

// Geometry is the size of a data set's images: values are stored HWC,
// one byte each.
type Geometry struct {
	Width, Height, Channels int
}

// Values is one image's values.
func (g Geometry) Values() int { return g.Width * g.Height * g.Channels }

func (g Geometry) String() string { return fmt.Sprintf("%dx%dx%d", g.Height, g.Width, g.Channels) }

// Fill says what lies outside the image.
type Fill int

const (
	// Nearest repeats the edge pixels (Keras' fill_mode="nearest").
	Nearest Fill = iota
	// Constant is black (zero) outside the image.
	Constant
)

func (f Fill) String() string {
	if f == Constant {
		return "constant"
	}
	return "nearest"
}

// ParseFill reads "nearest" or "constant".
func ParseFill(s string) (Fill, error) {
	switch s {
	case "nearest":
		return Nearest, nil
	case "constant":
		return Constant, nil
	}
	return 0, fmt.Errorf("unknown fill %q (nearest or constant)", s)
}

// Interp says how a pixel is read at a point between pixel centres.
type Interp int

const (
	// NearestNeighbour takes the pixel whose centre is nearest, a half
	// rounding up: SciPy's affine_transform(order=0), which Keras 2.0.6's
	// ImageDataGenerator uses.
	NearestNeighbour Interp = iota
	// Bilinear blends the four pixels around the point.
	Bilinear
)

func (i Interp) String() string {
	if i == Bilinear {
		return "bilinear"
	}
	return "nearest"
}

// ParseInterp reads "nearest" or "bilinear".
func ParseInterp(s string) (Interp, error) {
	switch s {
	case "nearest":
		return NearestNeighbour, nil
	case "bilinear":
		return Bilinear, nil
	}
	return 0, fmt.Errorf("unknown interpolation %q (nearest or bilinear)", s)
}

// MarshalText and UnmarshalText write the interpolation by name, so run
// records and checkpoints say "nearest" or "bilinear".
func (i Interp) MarshalText() ([]byte, error) { return []byte(i.String()), nil }
func (i *Interp) UnmarshalText(b []byte) error {
	v, err := ParseInterp(string(b))
	*i = v
	return err
}

// Sampling is how the warp reads the source image: the interpolation, and
// what lies outside the image.
type Sampling struct {
	Interp Interp
	Fill   Fill
}

// Flip says which mirror images the generator draws: each axis it names
// mirrors an image with probability 1/2, independently, as torchvision's
// RandomHorizontalFlip and RandomVerticalFlip.
type Flip uint8

const (
	NoFlip     Flip = 0
	Horizontal Flip = 1 // left-right
	Vertical   Flip = 2 // top-bottom
	BothFlips  Flip = Horizontal | Vertical
)

func (f Flip) String() string {
	switch f {
	case Horizontal:
		return "horizontal"
	case Vertical:
		return "vertical"
	case BothFlips:
		return "both"
	}
	return ""
}

// ParseFlip reads horizontal, vertical, both, or "" for none.
func ParseFlip(s string) (Flip, error) {
	for _, f := range []Flip{NoFlip, Horizontal, Vertical, BothFlips} {
		if s == f.String() {
			return f, nil
		}
	}
	return 0, fmt.Errorf("--flip %q: horizontal, vertical or both", s)
}

// MarshalText and UnmarshalText write the flip by name in run records
// and checkpoints.
func (f Flip) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
func (f *Flip) UnmarshalText(b []byte) error {
	v, err := ParseFlip(string(b))
	*f = v
	return err
}

// Config describes the random transforms. At most one of ShiftFrac and
// ShiftPx is set.
type Config struct {
	// ShiftFrac shifts by a uniform real amount in [-f, f] x the width
	// (or height) on each axis, as Keras' ImageDataGenerator(
	// width_shift_range=f, height_shift_range=f); default fill Nearest.
	ShiftFrac float64
	// ShiftPx shifts by a uniform whole number of pixels in [-p, p] on each
	// axis, as the capsule paper; default fill Constant.
	ShiftPx int
	// RotateDeg rotates by a uniform angle in [-r, r] degrees about the
	// centre; Zoom scales by a uniform factor in [1-z, 1+z].
	RotateDeg float64
	Zoom      float64
	// Fill overrides the mode's default fill when FillSet.
	Fill    Fill
	FillSet bool
	// Interp applies to every transform; the zero value, nearest
	// neighbour, makes ShiftFrac Keras 2.0.6's shift.
	Interp Interp
	// Flip mirrors after the other transforms (torchvision's
	// RandomCrop then RandomHorizontalFlip).
	Flip Flip `json:",omitempty"`
}

// Check reports the first invalid setting.
func (c Config) Check() error {
	switch {
	case c.ShiftFrac != 0 && c.ShiftPx != 0:
		return errors.New("--shift and --shift-px cannot both be set")
	case c.ShiftFrac < 0 || c.ShiftFrac >= 1 || math.IsNaN(c.ShiftFrac):
		return fmt.Errorf("--shift %g: must lie in [0, 1)", c.ShiftFrac)
	case c.ShiftPx < 0:
		return fmt.Errorf("--shift-px %d: must not be negative", c.ShiftPx)
	case c.RotateDeg < 0 || c.RotateDeg > 180 || math.IsNaN(c.RotateDeg):
		return fmt.Errorf("rotation %g degrees: must lie in [0, 180]", c.RotateDeg)
	case c.Zoom < 0 || c.Zoom >= 1 || math.IsNaN(c.Zoom):
		return fmt.Errorf("zoom %g: must lie in [0, 1)", c.Zoom)
	case c.Interp != NearestNeighbour && c.Interp != Bilinear:
		return fmt.Errorf("interpolation %d: nearest (0) or bilinear (1)", c.Interp)
	case c.Flip > BothFlips:
		return fmt.Errorf("flip %d: none (0), horizontal (1), vertical (2) or both (3)", c.Flip)
	}
	return nil
}

// FillMode is the fill in effect: the override, else the mode's default.
func (c Config) FillMode() Fill {
	if c.FillSet {
		return c.Fill
	}
	if c.ShiftPx > 0 {
		return Constant
	}
	return Nearest
}

// Sampling is the interpolation and fill in effect.
func (c Config) Sampling() Sampling {
	return Sampling{Interp: c.Interp, Fill: c.FillMode()}
}

// Identity reports whether the config never moves a pixel.
func (c Config) Identity() bool {
	return c.ShiftFrac == 0 && c.ShiftPx == 0 && c.RotateDeg == 0 && c.Zoom == 0 && c.Flip == NoFlip
}

// Affine maps output pixel coordinates (x = column, y = row, pixel
// centres at integers) to the input coordinates sampled there:
// x' = A[0]x + A[1]y + A[2], y' = A[3]x + A[4]y + A[5].
type Affine [6]float32

// IdentityAffine samples every pixel where it is.
var IdentityAffine = Affine{1, 0, 0, 0, 1, 0}

// affineOf takes the inverse mapping from a homogeneous forward transform.
func affineOf(forward mgl32.Mat3) Affine {
	inv := forward.Inv()
	// mgl32 matrices are column-major: row i, column j is inv[3*j+i].
	return Affine{inv[0], inv[3], inv[6], inv[1], inv[4], inv[7]}
}

// Shift is the affine that moves the image by (dx, dy) pixels.
func Shift(dx, dy float32) Affine {
	return affineOf(mgl32.Translate2D(dx, dy))
}

// Generator draws transforms of images of a geometry from a seeded PCG,
// so a seed gives the same sequence on every machine.
type Generator struct {
	cfg  Config
	geom Geometry
	src  *rand.PCG
	rng  *rand.Rand
}

// NewGenerator checks cfg against the images' geometry and seeds a
// generator.
func NewGenerator(cfg Config, geom Geometry, seed uint64) (*Generator, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if side := min(geom.Width, geom.Height); cfg.ShiftPx >= side {
		return nil, fmt.Errorf("--shift-px %d: must be below the images' side of %d pixels", cfg.ShiftPx, side)
	}
	src := rand.NewPCG(seed, 0x61756d656e74) // second word: a fixed stream for augmentation
	return &Generator{cfg: cfg, geom: geom, src: src, rng: rand.New(src)}, nil
}

// Config is the generator's configuration.
func (g *Generator) Config() Config { return g.cfg }

// Next draws one transform: the inverse of
// flip * shift * (rotate and zoom about the centre). The flips' coins are
// drawn after the rest, and only where Flip asks for them, so a config
// without flips draws the same transforms as before flips existed.
func (g *Generator) Next() Affine {
	uniform := func(r float64) float32 { return float32((2*g.rng.Float64() - 1) * r) }
	var dx, dy float32
	switch {
	case g.cfg.ShiftFrac > 0:
		dx, dy = uniform(g.cfg.ShiftFrac*float64(g.geom.Width)), uniform(g.cfg.ShiftFrac*float64(g.geom.Height))
	case g.cfg.ShiftPx > 0:
		dx = float32(g.rng.IntN(2*g.cfg.ShiftPx+1) - g.cfg.ShiftPx)
		dy = float32(g.rng.IntN(2*g.cfg.ShiftPx+1) - g.cfg.ShiftPx)
	}
	forward := mgl32.Translate2D(dx, dy)
	if g.cfg.RotateDeg > 0 || g.cfg.Zoom > 0 {
		cx, cy := float32(g.geom.Width-1)/2, float32(g.geom.Height-1)/2
		angle := uniform(g.cfg.RotateDeg) * math.Pi / 180
		zoom := 1 + uniform(g.cfg.Zoom)
		around := mgl32.Translate2D(cx, cy).Mul3(mgl32.HomogRotate2D(angle)).Mul3(mgl32.Scale2D(zoom, zoom)).Mul3(mgl32.Translate2D(-cx, -cy))
		forward = forward.Mul3(around)
	}
	// A mirror maps column x to width-1-x (or row y to height-1-y): whole
	// numbers, so the inverse is exact in float32.
	if g.cfg.Flip&Horizontal != 0 && g.rng.IntN(2) == 1 {
		forward = mgl32.Translate2D(float32(g.geom.Width-1), 0).Mul3(mgl32.Scale2D(-1, 1)).Mul3(forward)
	}
	if g.cfg.Flip&Vertical != 0 && g.rng.IntN(2) == 1 {
		forward = mgl32.Translate2D(0, float32(g.geom.Height-1)).Mul3(mgl32.Scale2D(1, -1)).Mul3(forward)
	}
	return affineOf(forward)
}

// Batch draws n transforms as 6n floats, the layout the warp shader reads.
func (g *Generator) Batch(n int) []float32 {
	out := make([]float32, 0, 6*n)
	for range n {
		a := g.Next()
		out = append(out, a[:]...)
	}
	return out
}

// State and SetState save and restore the generator's position, for
// checkpoints.
func (g *Generator) State() ([]byte, error) { return g.src.MarshalBinary() }
func (g *Generator) SetState(b []byte) error {
	if err := g.src.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("restore augmentation generator: %w", err)
	}
	return nil
}

// Warp samples a uint8 image of geometry g at a's coordinates and returns
// float32 values in [0, 1], HWC. It does exactly what the shader does, in
// the same order, in float32.
func Warp(src []byte, g Geometry, a Affine, s Sampling) []float32 {
	out := make([]float32, 0, g.Values())
	for y := range g.Height {
		for x := range g.Width {
			for ch := range g.Channels {
				im := image{src: src, geom: g, fill: s.Fill, ch: ch}
				if s.Interp == Bilinear {
					out = append(out, im.bilinear(a, x, y))
				} else {
					out = append(out, im.nearest(a, x, y))
				}
			}
		}
	}
	return out
}

// image is one channel of a source image as the warp reads it.
type image struct {
	src  []byte
	geom Geometry
	fill Fill
	ch   int
}

// pixel reads the image at (px, py) as the fill says, as a float in [0,
// 255].
func (im image) pixel(px, py int) float32 {
	w, h := im.geom.Width, im.geom.Height
	if im.fill == Nearest {
		px, py = max(min(px, w-1), 0), max(min(py, h-1), 0)
	} else if px < 0 || px >= w || py < 0 || py >= h {
		return 0
	}
	return float32(im.src[(py*w+px)*im.geom.Channels+im.ch])
}

// The explicit float32 conversions keep Go from fusing a multiply and an
// add, which the shader's precise qualifier forbids too.

func (im image) bilinear(a Affine, x, y int) float32 {
	fx, fy := float32(x), float32(y)
	sx := float32(a[0]*fx) + float32(a[1]*fy) + a[2]
	sy := float32(a[3]*fx) + float32(a[4]*fy) + a[5]
	x0f, y0f := float32(math.Floor(float64(sx))), float32(math.Floor(float64(sy)))
	wx, wy := sx-x0f, sy-y0f
	// Far-off coordinates are clamped first so the integer conversion is
	// defined; any point past the border samples like the border itself.
	x0 := int(max(min(x0f, float32(im.geom.Width+1)), -2))
	y0 := int(max(min(y0f, float32(im.geom.Height+1)), -2))
	top := im.pixel(x0, y0)*(1-wx) + im.pixel(x0+1, y0)*wx
	bottom := im.pixel(x0, y0+1)*(1-wx) + im.pixel(x0+1, y0+1)*wx
	return (top*(1-wy) + bottom*wy) / 255
}

func (im image) nearest(a Affine, x, y int) float32 {
	fx, fy := float32(x), float32(y)
	px, inX := nearestIndex(float32(a[0]*fx)+float32(a[1]*fy), a[2], im.geom.Width)
	py, inY := nearestIndex(float32(a[3]*fx)+float32(a[4]*fy), a[5], im.geom.Height)
	if im.fill == Constant && !(inX && inY) {
		return 0
	}
	return im.pixel(px, py) / 255
}

// nearestIndex rounds the coordinate t + offset to the nearest pixel as
// SciPy's order-0 interpolation does, floor(c + 0.5), and reports whether
// the coordinate lies within [0, side-1], where SciPy's constant mode
// reads the image. Whole pixels are split off t first, so for a whole t
// (shifts and flips) the result is exact: adding t and offset, and then
// 0.5, in float32 would round and could cross a half.
func nearestIndex(t, offset float32, side int) (int, bool) {
	whole := float32(math.Floor(float64(t)))
	s := (t - whole) + offset // the coordinate less whole
	n := float32(math.Floor(float64(s)))
	up := float32(0)
	if s-n >= 0.5 { // exact: near a half, s-n is representable
		up = 1
	}
	index := whole + n + up
	inside := !(s < -whole || s > float32(side-1)-whole)
	// Clamped before the conversion, which is undefined far off the image;
	// -1 and side are outside all the same.
	return int(max(min(index, float32(side)), -1)), inside
}

// MaxNormalizedChannels is the most channels Normalization serves (the
// shader's push constants hold four means and four scales).
const MaxNormalizedChannels = 4

// Normalization maps each value v in [0, 1] of channel c to
// (v - Mean[c]) / Std[c], computed in float32 as (v - Mean[c]) *
// InvStd()[c], which the shader and the ONNX graph do alike.
type Normalization struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Check reports a normalization that does not fit images of channels.
func (n Normalization) Check(channels int) error {
	switch {
	case len(n.Mean) != channels || len(n.Std) != channels:
		return fmt.Errorf("normalization of %d means and %d standard deviations for images of %d channels", len(n.Mean), len(n.Std), channels)
	case channels > MaxNormalizedChannels:
		return fmt.Errorf("normalization serves images of at most %d channels, these have %d", MaxNormalizedChannels, channels)
	}
	for c, s := range n.Std {
		if !(s > 0) || math.IsInf(float64(s), 0) || math.IsNaN(float64(n.Mean[c])) || math.IsInf(float64(n.Mean[c]), 0) {
			return fmt.Errorf("normalization of channel %d: mean %g, standard deviation %g (it must be positive)", c, n.Mean[c], s)
		}
	}
	return nil
}

// InvStd is 1 / Std, in float32.
func (n Normalization) InvStd() []float32 {
	out := make([]float32, len(n.Std))
	for c, s := range n.Std {
		out[c] = 1 / s
	}
	return out
}

// Apply normalizes HWC values of channels in place, as the shader does.
func (n Normalization) Apply(values []float32, channels int) {
	inv := n.InvStd()
	for i, v := range values {
		c := i % channels
		values[i] = float32(v-n.Mean[c]) * inv[c]
	}
}

// Statistics are the per-channel mean and standard deviation (the
// population's, as torchvision recipes compute them) of HWC byte images
// of channels, as values in [0, 1]; summed in float64.
func Statistics(images []byte, channels int) Normalization {
	sum, sq := make([]float64, channels), make([]float64, channels)
	for i, b := range images {
		v := float64(b) / 255
		sum[i%channels] += v
		sq[i%channels] += v * v
	}
	n := Normalization{Mean: make([]float32, channels), Std: make([]float32, channels)}
	count := float64(len(images) / channels)
	for c := range channels {
		mean := sum[c] / count
		n.Mean[c], n.Std[c] = float32(mean), float32(math.Sqrt(max(sq[c]/count-mean*mean, 0)))
	}
	return n
}
