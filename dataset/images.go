package dataset

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/numfmt"
)

// Options say how Load reads a folder of images; the other formats
// ignore them.
type Options struct {
	// Size resizes every image (the zero Size: every image must have one
	// size already); Color converts them.
	Size  Size
	Color Color
	// Seed shuffles a single tree of class folders, and ValSplit holds
	// out its last fraction as the test set; training holds out the same
	// samples with --val-split.
	Seed     uint64
	ValSplit float64
	// TrainOnly leaves a single tree whole, its test set empty, for a
	// caller that reads the training set alone (vkcnn augment).
	TrainOnly bool
	// Log, where set, hears a line when images are decoded; Bar draws a
	// progress bar on it while they are.
	Log io.Writer
	Bar bool
}

// treeFile is one image of a folder: its path, class and identity.
type treeFile struct {
	path  string
	class uint8
	size  int64
	mtime int64
}

// imageTree is a folder of class folders: DIR/train/CLASS/* with
// DIR/test/CLASS/* (or val), or DIR/CLASS/* alone.
type imageTree struct {
	dir        string
	split      string // "test" or "val"; "" for a single tree
	classes    []string
	train, val []treeFile
}

// problems gathers what is wrong with a folder, to refuse it in a line
// naming the first fault and counting the rest.
type problems struct {
	first error
	more  int
}

func (p *problems) add(err error) {
	if p.first == nil {
		p.first = err
	} else {
		p.more++
	}
}

// merge adds the problems of q after p's.
func (p *problems) merge(q problems) {
	if q.first == nil {
		return
	}
	p.add(q.first)
	p.more += q.more
}

func (p *problems) err() error {
	switch {
	case p.first == nil:
		return nil
	case p.more == 0:
		return p.first
	}
	return fmt.Errorf("%w (and %d more bad files or folders)", p.first, p.more)
}

// isImageFile says whether a name is one of the image files a class
// holds.
func isImageFile(name string) bool {
	return slices.Contains(imageExtensions, strings.ToLower(filepath.Ext(name)))
}

// subfolders lists the folders in dir, sorted as Python's sorted() sorts
// them (by code point, which is UTF-8's byte order), as Keras and
// torchvision order classes.
func subfolders(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// findImageTree recognises a folder of class folders; nil where dir has
// no subfolder.
func findImageTree(dir string) (*imageTree, error) {
	subs, err := subfolders(dir)
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	t := &imageTree{dir: dir}
	if slices.Contains(subs, "train") {
		for _, s := range []string{"test", "val"} {
			if slices.Contains(subs, s) {
				t.split = s
				break
			}
		}
		if t.split == "" {
			return nil, fmt.Errorf("%w in %s: it has train/ but neither test/ nor val/ beside it", ErrNoData, dir)
		}
	}
	var bad problems
	root := dir
	if t.split != "" {
		root = filepath.Join(dir, "train")
		if t.classes, err = subfolders(root); err != nil {
			return nil, fmt.Errorf("%s: cannot read the folder: %w", root, err)
		}
	} else {
		t.classes = subs
	}
	if len(t.classes) > maxClassNames {
		return nil, fmt.Errorf("%s: %d class folders, more than the %d a label byte tells apart", root, len(t.classes), maxClassNames)
	}
	if len(t.classes) == 0 {
		return nil, fmt.Errorf("%w in %s: no class folders", ErrNoData, root)
	}
	t.train = t.listClasses(root, t.classes, &bad)
	if t.split != "" {
		vroot := filepath.Join(dir, t.split)
		classes, err := subfolders(vroot)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the folder: %w", vroot, err)
		}
		for _, c := range classes {
			if !slices.Contains(t.classes, c) {
				bad.add(fmt.Errorf("%s: class %q has no folder in %s", filepath.Join(vroot, c), c, root))
			}
		}
		t.val = t.listClasses(vroot, slices.DeleteFunc(classes, func(c string) bool { return !slices.Contains(t.classes, c) }), &bad)
	}
	return t, bad.err()
}

// listClasses lists the image files of each class folder of root, class
// by class, each class's files in lexical order (the folder is walked
// into its subfolders, as Keras does; links are not followed). The
// classes are listed at once: a second read of a cached folder is mostly
// these listings.
func (t *imageTree) listClasses(root string, classes []string, bad *problems) []treeFile {
	type listing struct {
		files []treeFile
		bad   problems
	}
	lists := make([]listing, len(classes))
	parallel(len(classes), func(i int) {
		folder := filepath.Join(root, classes[i])
		l := &lists[i]
		l.files = walkImages(folder, uint8(slices.Index(t.classes, classes[i])), nil, &l.bad)
		if len(l.files) == 0 {
			l.bad.add(fmt.Errorf("%s: class folder with no %s image", folder, formats))
		}
	})
	var out []treeFile
	for _, l := range lists {
		out = append(out, l.files...)
		bad.merge(l.bad)
	}
	return out
}

// readDir lists a folder; tests replace it to make one unreadable, which
// permissions cannot do for root.
var readDir = os.ReadDir

// walkImages appends the image files under folder, of class label, to
// out.
func walkImages(folder string, label uint8, out []treeFile, bad *problems) []treeFile {
	entries, err := readDir(folder)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		bad.add(fmt.Errorf("%s: cannot read the folder: %w", folder, err))
		return out
	}
	for _, e := range entries {
		path := filepath.Join(folder, e.Name())
		switch {
		case e.IsDir():
			out = walkImages(path, label, out, bad)
		case e.Type().IsRegular() && isImageFile(e.Name()):
			info, err := e.Info()
			if err != nil {
				bad.add(fmt.Errorf("%s: %w", path, err))
				continue
			}
			out = append(out, treeFile{path: path, class: label, size: info.Size(), mtime: info.ModTime().UnixNano()})
		}
	}
	return out
}

// load reads the tree: from the decoded cache where it holds these very
// files read with these options, else by decoding every image (and
// caching them).
func (t *imageTree) load(opts Options) (*Dataset, error) {
	key := t.cacheKey(opts)
	cache, err := cachePath(t.dir, key)
	if err != nil {
		return nil, err
	}
	d, err := readCache(cache, key)
	if err != nil {
		return nil, err
	}
	if d == nil {
		if d, err = t.decodeCached(cache, key, opts); err != nil {
			return nil, err
		}
		if d.unmap == nil {
			cache = ""
		}
	}
	d.Dir, d.Names, d.Cache, d.Size = t.dir, t.classes, cache, opts.Size
	d.Color = Grayscale
	if d.Geometry.Channels == 3 {
		d.Color = RGB
	}
	d.Format = "image folders (train/ and " + t.split + "/)"
	if t.split == "" {
		d.Format = "image folder (one tree of class folders)"
		if !opts.TrainOnly {
			if err := t.holdOut(d, opts); err != nil {
				return nil, err
			}
		}
	}
	d.countClasses()
	return d, nil
}

// decodeCached decodes every image straight into the cache file, then
// maps it as the next run will: the images are never all in memory at
// once, so that a folder larger than the host's memory decodes. Where the
// cache cannot be written, it decodes them into memory instead, with a
// warning: the next run decodes again.
func (t *imageTree) decodeCached(cache string, key [sha256.Size]byte, opts Options) (*Dataset, error) {
	g, err := t.geometry(opts)
	if err != nil {
		return nil, err
	}
	var refused error
	err = writeCache(cache, key, g, len(t.train), t.labels(), func(put func(i int, px []byte) error) error {
		var failed error
		refused, failed = t.decode(opts, g, put)
		return errors.Join(refused, failed)
	})
	switch {
	case refused != nil:
		return nil, refused
	case err == nil:
		d, err := readCache(cache, key)
		if err == nil && d == nil {
			err = fmt.Errorf("decoded cache %s: gone as soon as written", cache)
		}
		return d, err
	}
	if opts.Log != nil {
		fmt.Fprintf(opts.Log, "vkcnn: warning: %v; the images are decoded into memory, and will be decoded again next time\n", err)
	}
	v := g.Values()
	images := make([]byte, (len(t.train)+len(t.val))*v)
	if refused, _ = t.decode(opts, g, func(i int, px []byte) error {
		copy(images[i*v:], px)
		return nil
	}); refused != nil {
		return nil, refused
	}
	labels, n := t.labels(), len(t.train)
	return &Dataset{Geometry: g,
		Train: &Set{Images: images[:n*v], Labels: labels[:n], N: n},
		Test:  &Set{Images: images[n*v:], Labels: labels[n:], N: len(t.val)}}, nil
}

// labels are the classes of the training files, then of the test files.
func (t *imageTree) labels() []uint8 {
	var out []uint8
	for _, f := range append(slices.Clone(t.train), t.val...) {
		out = append(out, f.class)
	}
	return out
}

// holdOut shuffles a single tree with the seed, as Keras'
// image_dataset_from_directory does before its validation_split, and
// makes the test set of its last ValSplit: the samples training holds
// out with that --val-split and seed.
func (t *imageTree) holdOut(d *Dataset, opts Options) error {
	held := int(float64(d.Train.N) * opts.ValSplit)
	if held == 0 || held == d.Train.N {
		return fmt.Errorf("%s is one tree of class folders: give a --val-split (in (0, 1), one that leaves both parts a sample) to hold out its last part, shuffled with the seed, as the test set; or make %s and %s",
			t.dir, filepath.Join(t.dir, "train"), filepath.Join(t.dir, "test"))
	}
	order := rand.New(rand.NewPCG(opts.Seed, 0x74726565)).Perm(d.Train.N) // second word: "tree"
	v := d.Geometry.Values()
	images, labels := make([]byte, len(d.Train.Images)), make([]uint8, d.Train.N)
	for i, j := range order {
		copy(images[i*v:(i+1)*v], d.Train.Images[j*v:(j+1)*v])
		labels[i] = d.Train.Labels[j]
	}
	d.Train = &Set{Images: images, Labels: labels, N: d.Train.N}
	first := d.Train.N - held
	d.Test = &Set{Images: images[first*v:], Labels: labels[first:], N: held}
	d.Format = fmt.Sprintf("image folder (one tree; the test set is its last %d images, shuffled with seed %d)", held, opts.Seed)
	return nil
}

// geometry reads every image's header, refusing the folder when one
// cannot be decoded or, without a Size, has a size other than the
// first's: the images' size and channels.
func (t *imageTree) geometry(opts Options) (augment.Geometry, error) {
	files := append(slices.Clone(t.train), t.val...)
	configs := make([]struct {
		w, h int
		gray bool
		err  error
	}, len(files))
	parallel(len(files), func(i int) {
		cfg, err := decodeConfig(files[i].path)
		configs[i].w, configs[i].h, configs[i].gray, configs[i].err = cfg.Width, cfg.Height, grayModel(cfg.ColorModel), err
	})
	var bad problems
	gray := true
	for i, c := range configs {
		if c.err != nil {
			bad.add(c.err)
			continue
		}
		gray = gray && c.gray
		if c.w > MaxSide || c.h > MaxSide {
			bad.add(fmt.Errorf("%s: %dx%d pixels, more than %d a side", files[i].path, c.h, c.w, MaxSide))
		}
	}
	if err := bad.err(); err != nil {
		return augment.Geometry{}, err
	}
	color := opts.Color
	if color == ColorAuto {
		color = RGB
		if gray {
			color = Grayscale
		}
	}
	g := augment.Geometry{Height: opts.Size.Height, Width: opts.Size.Width, Channels: color.Channels()}
	if opts.Size == (Size{}) {
		g.Height, g.Width = configs[0].h, configs[0].w
		for i, c := range configs {
			if c.h != g.Height || c.w != g.Width {
				return g, fmt.Errorf("%s is %dx%d, %s %dx%d: give --image-size HxW to resize them all", files[i].path, c.h, c.w, files[0].path, g.Height, g.Width)
			}
		}
	}
	return g, nil
}

// decode decodes every image, training files first, at g, handing each
// one's pixels to put (from several goroutines at once), and draws a bar
// as it goes. refused names the files that cannot be decoded; failed is
// put's first error.
func (t *imageTree) decode(opts Options, g augment.Geometry, put func(i int, px []byte) error) (refused, failed error) {
	files := append(slices.Clone(t.train), t.val...)
	errs, puts := make([]error, len(files)), make([]error, len(files))
	var bar *progressbar.ProgressBar
	if opts.Bar && opts.Log != nil {
		bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(opts.Log), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("images"), progressbar.OptionSetWidth(20),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetDescription("Decoding "+t.dir))
	}
	start := time.Now()
	parallel(len(files), func(i int) {
		px, err := ReadImage(files[i].path, g)
		if errs[i] = err; err == nil {
			puts[i] = put(i, px)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	})
	if bar != nil {
		_ = bar.Finish()
	}
	var bad problems
	for _, err := range errs {
		if err != nil {
			bad.add(err)
		}
	}
	if err := bad.err(); err != nil {
		return err, nil
	}
	for _, err := range puts {
		if err != nil {
			return nil, err
		}
	}
	if opts.Log != nil {
		secs := time.Since(start).Seconds()
		fmt.Fprintf(opts.Log, "vkcnn: decoded %s images of %s in %.1fs (%.0f images/s)\n", numfmt.Commas(len(files)), t.dir, secs, float64(len(files))/secs)
	}
	return nil, nil
}

// parallel runs f(0) ... f(n-1) on every CPU.
func parallel(n int, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
