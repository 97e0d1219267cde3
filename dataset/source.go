package dataset

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// source is a data file's byte stream, gunzipped when it is gzip. Its Read
// turns every failure of the stream itself (a cut or corrupt gzip, an I/O
// error) into a finished error naming the file. Such an error is never
// io.EOF or io.ErrUnexpectedEOF itself, so io.ReadFull and io.ReadAll pass it
// on, and a short read can only mean that the data ends early.
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

// readFile opens path for parse, which names the file in its errors.
func readFile(path string, parse func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return parse(f)
}

// readLines reads a small text file's lines, each trimmed; blank lines at
// the end are ignored, a blank line before them is an error.
func readLines(name string, r io.Reader) ([]string, error) {
	s, err := newSource(name, r)
	if err != nil {
		return nil, err
	}
	const maxBytes = 1 << 16
	data, err := io.ReadAll(io.LimitReader(s, maxBytes+1))
	switch {
	case err != nil:
		return nil, err
	case len(data) > maxBytes:
		return nil, s.errorf("more than %d bytes: not a class list", maxBytes)
	}
	text := strings.TrimRight(string(data), " \t\r\n")
	if text == "" {
		return nil, s.errorf("empty: want a class a line")
	}
	lines := strings.Split(text, "\n")
	for i := range lines {
		if lines[i] = strings.TrimSpace(lines[i]); lines[i] == "" {
			return nil, s.errorf("line %d is blank: want a class a line", i+1)
		}
	}
	return lines, nil
}
