package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/internal/usercache"
)

// The decoded cache of an image folder is one file in CacheDir, named by
// a hash of the folder's path and a key: a hash of every image's path,
// size, modification time and class, and of the size and colour settings.
// Load recomputes the key from the folder each time, so a file that
// changed, came or went gives another key, and a stale cache is never
// opened; the file also holds its key, checked on reading. Writing a
// folder's new cache removes its old ones.

// cacheVersion changes whenever the decoding or the file's layout does,
// which makes every older cache another key.
const cacheVersion = 1

// cacheMagic begins a cache file.
const cacheMagic = "VKCNNIMG"

// CacheDir is where decoded image folders are kept: $VKCNN_CACHE, else
// vkcnn/images in the user's cache folder (~/.cache on Linux).
func CacheDir() (string, error) {
	return usercache.Path("VKCNN_CACHE", "images", "decoded images")
}

// cacheKey hashes everything the decoded images depend on.
func (t *imageTree) cacheKey(opts Options) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "v%d\x00%s\x00%s\x00%d\x00%q\x00", cacheVersion, opts.Size, opts.Color, len(t.train), t.classes)
	for _, f := range append(t.train, t.val...) {
		// Relative to the folder, which the file's name already says
		// (--data photos and --data ./photos share a cache).
		rel, err := filepath.Rel(t.dir, f.path)
		if err != nil {
			rel = f.path
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", rel, f.size, f.mtime, f.class)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// cachePath is the cache file of the folder dir for key.
func cachePath(dir string, key [sha256.Size]byte) (string, error) {
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, folderPrefix(dir)+hex.EncodeToString(key[:16])+".bin"), nil
}

// folderPrefix begins the names of a folder's caches.
func folderPrefix(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:8]) + "-"
}

// cacheMeta is the cache's header after the key.
type cacheMeta struct {
	Height, Width, Channels int
	Train, Test             int
}

// readCache maps the cache at path into memory (nil where there is
// none): its images are read from the file as steps touch them, so that
// a streamed set may be larger than the host's memory, and the first step
// starts without reading the whole file. The set holds the mapping until
// Dataset.Close.
func readCache(path string, key [sha256.Size]byte) (*Dataset, error) {
	b, unmap, err := mapFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("decoded cache %s: %w", path, err)
	}
	d, err := parseCache(path, key, b)
	if err != nil {
		return nil, errors.Join(err, unmap())
	}
	d.unmap = unmap
	return d, nil
}

// parseCache finds the sets in a cache file's bytes b, in place.
func parseCache(path string, key [sha256.Size]byte, b []byte) (*Dataset, error) {
	bad := func(what string) error {
		return fmt.Errorf("decoded cache %s: %s (remove it to decode the images again)", path, what)
	}
	head := len(cacheMagic) + sha256.Size + 4
	if len(b) < head || string(b[:len(cacheMagic)]) != cacheMagic {
		return nil, bad("not a cache file")
	}
	if !bytes.Equal(b[len(cacheMagic):len(cacheMagic)+sha256.Size], key[:]) {
		return nil, bad("its key is not its name's")
	}
	n := int(binary.LittleEndian.Uint32(b[head-4:]))
	var m cacheMeta
	if len(b) < head+n || json.Unmarshal(b[head:head+n], &m) != nil {
		return nil, bad("damaged header")
	}
	g := augment.Geometry{Height: m.Height, Width: m.Width, Channels: m.Channels}
	rest := b[head+n:]
	if m.Train < 0 || m.Test < 0 || len(rest) != (m.Train+m.Test)*(1+g.Values()) {
		return nil, bad("truncated")
	}
	labels, images := rest[:m.Train+m.Test], rest[m.Train+m.Test:]
	split := m.Train * g.Values()
	return &Dataset{Geometry: g,
		Train: &Set{Images: images[:split], Labels: labels[:m.Train], N: m.Train},
		Test:  &Set{Images: images[split:], Labels: labels[m.Train:], N: m.Test}}, nil
}

// writeCache writes the cache of train training and len(labels)-train
// test images of g to path, atomically, through fill, which hands each
// image's pixels (training images first) to put, from several goroutines
// at once; and removes the folder's other caches.
func writeCache(path string, key [sha256.Size]byte, g augment.Geometry, train int, labels []uint8, fill func(put func(i int, px []byte) error) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("decoded cache: %w", err)
	}
	meta, err := json.Marshal(cacheMeta{Height: g.Height, Width: g.Width, Channels: g.Channels, Train: train, Test: len(labels) - train})
	if err != nil {
		return err
	}
	head := append([]byte(cacheMagic), key[:]...)
	head = binary.LittleEndian.AppendUint32(head, uint32(len(meta)))
	head = append(append(head, meta...), labels...)
	v := int64(g.Values())
	err = atomicfile.WriteAt(path, int64(len(head))+int64(len(labels))*v, func(w io.WriterAt) error {
		if _, err := w.WriteAt(head, 0); err != nil {
			return err
		}
		return fill(func(i int, px []byte) error {
			_, err := w.WriteAt(px, int64(len(head))+int64(i)*v)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("decoded cache %s: %w", path, err)
	}
	// The folder's caches share the name's prefix up to the dash.
	prefix, _, _ := strings.Cut(filepath.Base(path), "-")
	old, _ := filepath.Glob(filepath.Join(dir, prefix+"-*.bin"))
	for _, o := range old {
		if o != path {
			_ = os.Remove(o) // another run may have removed it already
		}
	}
	return nil
}
