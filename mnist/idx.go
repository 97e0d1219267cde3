package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// IDX magic numbers: two zero bytes, the element type (0x08, unsigned byte)
// and the number of dimensions.
const (
	labelMagic = 0x00000801
	imageMagic = 0x00000803
)

// MaxImages bounds the count an IDX header may declare. The largest MNIST-like
// set (MNIST8M) has 8.1 million images; anything above this is a damaged
// header, refused before it can make us read gigabytes.
const MaxImages = 10_000_000

// ReadImages reads an IDX image file, raw or gzip (told apart by the gzip
// magic bytes, not by the name), and returns its n 28x28 images, row-major,
// one byte per pixel. name only labels the errors.
func ReadImages(name string, r io.Reader) ([]byte, int, error) {
	s, err := newSource(name, r)
	if err != nil {
		return nil, 0, err
	}
	var h [16]byte
	if err := s.header(h[:], imageMagic, "images"); err != nil {
		return nil, 0, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	rows, cols := binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	if rows != Rows || cols != Cols {
		return nil, 0, s.errorf("images are %dx%d, want %dx%d", rows, cols, Rows, Cols)
	}
	if n > MaxImages {
		return nil, 0, s.errorf("header declares %d images, more than the %d allowed", n, MaxImages)
	}
	images, err := s.payload(int64(n)*Pixels, n, "images")
	if err != nil {
		return nil, 0, err
	}
	return images, int(n), nil
}

// ReadLabels reads an IDX label file, raw or gzip, and checks that every
// label is a digit, 0..9. name only labels the errors.
func ReadLabels(name string, r io.Reader) ([]uint8, error) {
	s, err := newSource(name, r)
	if err != nil {
		return nil, err
	}
	var h [8]byte
	if err := s.header(h[:], labelMagic, "labels"); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > MaxImages {
		return nil, s.errorf("header declares %d labels, more than the %d allowed", n, MaxImages)
	}
	labels, err := s.payload(int64(n), n, "labels")
	if err != nil {
		return nil, err
	}
	for i, l := range labels {
		if l >= Classes {
			return nil, s.errorf("label %d at index %d is not a digit 0..%d", l, i, Classes-1)
		}
	}
	return labels, nil
}

// source is an IDX file's byte stream, gunzipped when it is gzip. Its Read
// turns every failure of the stream itself (a cut or corrupt gzip, an I/O
// error) into a finished error naming the file. Such an error is never
// io.EOF or io.ErrUnexpectedEOF itself, so io.ReadFull and io.ReadAll pass it
// on, and a short read can only mean that the IDX data ends early.
type source struct {
	name string
	gz   bool
	r    io.Reader
}

func newSource(name string, r io.Reader) (*source, error) {
	br := bufio.NewReader(r)
	s := &source{name: name, r: br}
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, s.errorf("read: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, s.gzipError(err)
		}
		s.gz, s.r = true, zr
	}
	return s, nil
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case s.gz:
		err = s.gzipError(err)
	default:
		err = s.errorf("read: %w", err)
	}
	return n, err
}

func (s *source) gzipError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return s.errorf("truncated gzip stream: %w", err)
	}
	return s.errorf("corrupt gzip stream: %w", err)
}

func (s *source) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{s.name}, args...)...)
}

// header reads len(h) header bytes and checks that they begin with magic.
func (s *source) header(h []byte, magic uint32, what string) error {
	n, err := io.ReadFull(s, h)
	switch {
	case n == 0 && err == io.EOF:
		if s.gz {
			return s.errorf("empty after gunzip")
		}
		return s.errorf("empty file")
	case err == io.ErrUnexpectedEOF:
		return s.errorf("truncated header (%d of %d bytes)", n, len(h))
	case err != nil:
		return err
	}
	if m := binary.BigEndian.Uint32(h); m != magic {
		return s.errorf("magic number 0x%08x, want 0x%08x for IDX %s", m, magic, what)
	}
	return nil
}

// payload reads the size bytes that follow the header, which declared count
// items, and checks that the file ends there. It reads at most size+1 bytes,
// growing its buffer as data arrives, so a header that lies about its count
// costs only as much memory as the file really holds.
func (s *source) payload(size int64, count uint32, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(s, size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < size {
		return nil, s.errorf("truncated: header declares %d %s (%d bytes), but only %d bytes follow", count, what, size, len(b))
	}
	if int64(len(b)) > size {
		// Count the rest for the message; io.Discard holds no memory.
		rest, err := io.Copy(io.Discard, s)
		if err != nil {
			return nil, err
		}
		return nil, s.errorf("%d trailing bytes after the %d %s the header declares", rest+1, count, what)
	}
	return b, nil
}
