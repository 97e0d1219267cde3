// Package weights reads and writes model weights and checkpoint state in the
// safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header, then the tensors'
// bytes. Only F32 tensors are supported, which is all vkcnn stores.
//
// The format is written by hand rather than with a library because we need
// the data in the caller's order (so saves are byte-identical and follow the
// model's layer order) and a reader that rejects duplicate names and names the
// offending tensor in every error.
package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Tensor is one named F32 tensor, row-major, with len(Data) equal to the
// product of Shape.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

const (
	// metadataKey is the header entry the format reserves for string metadata.
	metadataKey = "__metadata__"
	// maxHeader bounds the JSON header, as the reference implementation does,
	// so a hostile length cannot make us allocate gigabytes before parsing.
	maxHeader = 100_000_000
	// chunk is how many bytes of tensor data we convert at a time.
	chunk = 1 << 16
)

// headerEntry is one tensor's header entry; the field order is the order
// json.Marshal writes them in.
type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Write writes tensors in safetensors format: header keys sorted (as
// json.Marshal sorts map keys), data in the order given, so equal inputs give
// equal bytes. metadata may be nil.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, chunk)
	if err := binary.Write(bw, binary.LittleEndian, uint64(len(header))); err != nil {
		return fmt.Errorf("write header length: %w", err)
	}
	if _, err := bw.Write(header); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	buf := make([]byte, 0, chunk)
	for _, t := range tensors {
		for i, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) || i == len(t.Data)-1 {
				if _, err := bw.Write(buf); err != nil {
					return fmt.Errorf("write tensor %q: %w", t.Name, err)
				}
				buf = buf[:0]
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// encodeHeader checks tensors and metadata and returns the JSON header,
// padded with spaces to a multiple of 8 bytes as the reference writer does,
// so the data that follows is aligned for readers that map the file.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	entries := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		for k, v := range metadata {
			// json.Marshal would silently replace invalid UTF-8, so the
			// file would not read back as written.
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("metadata %q: not valid UTF-8", k)
			}
		}
		entries[metadataKey] = metadata
	}
	var offset int64
	for _, t := range tensors {
		switch _, dup := entries[t.Name]; {
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor name %q is reserved for metadata", t.Name)
		case dup:
			return nil, fmt.Errorf("tensor %q: duplicate name", t.Name)
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor %q: name is not valid UTF-8", t.Name)
		}
		n, err := elements(t.Shape, math.MaxInt64/4)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if n != int64(len(t.Data)) {
			return nil, fmt.Errorf("tensor %q: shape %v holds %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: [] in JSON, not null
		}
		entries[t.Name] = headerEntry{DType: "F32", Shape: shape, DataOffsets: [2]int64{offset, offset + 4*n}}
		offset += 4 * n
	}
	header, err := json.Marshal(entries)
	if err != nil {
		return nil, fmt.Errorf("encode header: %w", err)
	}
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	return header, nil
}

// elements returns the product of shape, or an error if a dimension is
// negative or the product exceeds limit.
func elements(shape []int, limit int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range shape {
		if n > limit/int64(d) {
			return 0, fmt.Errorf("shape %v holds more than %d values", shape, limit)
		}
		n *= int64(d)
	}
	return n, nil
}

// Read reads a safetensors stream of size bytes and returns its tensors in
// the order of their data, which is the order Write was given, and its
// metadata (empty, not nil, when there is none). Everything is validated
// before any tensor data is allocated: the header length, the JSON, the
// dtypes, the shapes against the offsets, and that the tensors tile the data
// exactly with nothing after them.
func Read(r io.Reader, size int64) ([]Tensor, map[string]string, error) {
	if size == 0 {
		return nil, nil, errors.New("empty file")
	}
	if size < 8 {
		return nil, nil, fmt.Errorf("truncated: %d bytes, too short for the 8-byte header length", size)
	}
	br := bufio.NewReaderSize(r, chunk)
	var lenBuf [8]byte
	if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
		return nil, nil, fmt.Errorf("read header length: %w", noEOF(err))
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > uint64(size-8) {
		return nil, nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, size)
	}
	if n > maxHeader {
		return nil, nil, fmt.Errorf("header length %d is over the %d-byte limit", n, maxHeader)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, nil, fmt.Errorf("read header: %w", noEOF(err))
	}
	infos, metadata, err := parseHeader(header)
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	dataSize := size - 8 - int64(n)
	if err := checkLayout(infos, dataSize); err != nil {
		return nil, nil, err
	}
	tensors := make([]Tensor, len(infos))
	buf := make([]byte, chunk)
	for i, info := range infos {
		data := make([]float32, (info.end-info.begin)/4)
		for j := 0; j < len(data); {
			b := buf[:min(len(buf), 4*(len(data)-j))]
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, nil, fmt.Errorf("tensor %q: read data: %w", info.name, noEOF(err))
			}
			for k := 0; k < len(b); k += 4 {
				data[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[k:]))
				j++
			}
		}
		tensors[i] = Tensor{Name: info.name, Shape: info.shape, Data: data}
	}
	// size is the caller's word; a stream that goes on past it is corrupt.
	if extra, err := io.Copy(io.Discard, br); err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	} else if extra > 0 {
		return nil, nil, fmt.Errorf("%d bytes more than the declared size %d", extra, size)
	}
	return tensors, metadata, nil
}

// noEOF turns a clean EOF into ErrUnexpectedEOF: Read is only ever short of
// bytes it was promised.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// tensorInfo is one tensor's header entry, parsed.
type tensorInfo struct {
	name       string
	dtype      string
	shape      []int
	begin, end int64
}

// checkLayout checks each tensor's dtype and shape against its byte range,
// then that the ranges, in offset order, cover [0, dataSize) with no gap or
// overlap, as the format requires. It sorts infos by offset.
func checkLayout(infos []tensorInfo, dataSize int64) error {
	for _, t := range infos {
		if t.dtype != "F32" {
			return fmt.Errorf("tensor %q: dtype %q is not supported (only F32)", t.name, t.dtype)
		}
		if t.begin > t.end || t.end > dataSize {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] are outside the %d data bytes", t.name, t.begin, t.end, dataSize)
		}
		n, err := elements(t.shape, math.MaxInt64/4)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.name, err)
		}
		if 4*n != t.end-t.begin {
			return fmt.Errorf("tensor %q: shape %v needs %d bytes, data_offsets [%d, %d] hold %d", t.name, t.shape, 4*n, t.begin, t.end, t.end-t.begin)
		}
	}
	sort.SliceStable(infos, func(i, j int) bool {
		a, b := infos[i], infos[j]
		return a.begin < b.begin || a.begin == b.begin && a.end < b.end
	})
	var at int64
	for i, t := range infos {
		switch {
		case t.begin < at:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q", t.name, t.begin, t.end, infos[i-1].name)
		case t.begin > at:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave bytes %d..%d unused", t.name, t.begin, t.end, at, t.begin)
		}
		at = t.end
	}
	if at != dataSize {
		return fmt.Errorf("%d trailing bytes after the last tensor", dataSize-at)
	}
	return nil
}

// parseHeader parses the JSON header strictly: one object of tensor entries
// and an optional "__metadata__" object of strings, no duplicate keys (which
// encoding/json would silently merge), no unknown fields, nothing after it.
func parseHeader(header []byte) ([]tensorInfo, map[string]string, error) {
	p := parser{dec: json.NewDecoder(bytes.NewReader(header))}
	p.dec.UseNumber()
	var infos []tensorInfo
	metadata := map[string]string{}
	err := p.object(func(key string) error {
		if key == metadataKey {
			return p.object(func(k string) error {
				v, err := p.str()
				if err != nil {
					return fmt.Errorf("%s %q: %w", metadataKey, k, err)
				}
				metadata[k] = v
				return nil
			})
		}
		info, err := p.tensor(key)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		infos = append(infos, info)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the JSON object")
	}
	return infos, metadata, nil
}

// parser reads the header's JSON token by token, so that the structure, and
// not encoding/json's leniency (null for anything, last duplicate wins),
// decides what is accepted.
type parser struct {
	dec *json.Decoder
}

// object reads a JSON object and calls field for each key, with the decoder
// positioned at the key's value. Duplicate keys are an error.
func (p parser) object(field func(key string) error) error {
	if err := p.delim('{'); err != nil {
		return err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		key, err := p.str()
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if err := field(key); err != nil {
			return err
		}
	}
	return p.delim('}')
}

// tensor reads one tensor's entry: exactly dtype, shape and data_offsets.
func (p parser) tensor(name string) (tensorInfo, error) {
	info := tensorInfo{name: name}
	var shape, offsets []int64
	seen := map[string]bool{}
	err := p.object(func(key string) error {
		seen[key] = true
		var err error
		switch key {
		case "dtype":
			info.dtype, err = p.str()
		case "shape":
			shape, err = p.ints(key)
		case "data_offsets":
			offsets, err = p.ints(key)
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	if err != nil {
		return info, err
	}
	for _, key := range []string{"dtype", "shape", "data_offsets"} {
		if !seen[key] {
			return info, fmt.Errorf("missing %q", key)
		}
	}
	if len(offsets) != 2 {
		return info, fmt.Errorf(`"data_offsets" has %d values, want [begin, end]`, len(offsets))
	}
	info.begin, info.end = offsets[0], offsets[1]
	info.shape = make([]int, len(shape))
	for i, d := range shape {
		info.shape[i] = int(d)
		if int64(info.shape[i]) != d { // only where int is 32 bits
			return info, fmt.Errorf("shape dimension %d does not fit in an int", d)
		}
	}
	return info, nil
}

// ints reads an array of non-negative integers.
func (p parser) ints(field string) ([]int64, error) {
	if err := p.delim('['); err != nil {
		return nil, fmt.Errorf("%q: %w", field, err)
	}
	var v []int64
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%q: %w", field, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%q: %v is not a number", field, tok)
		}
		i, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("%q: %s is not a non-negative 64-bit integer", field, num)
		}
		v = append(v, i)
	}
	if err := p.delim(']'); err != nil {
		return nil, fmt.Errorf("%q: %w", field, err)
	}
	return v, nil
}

func (p parser) str() (string, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return "", noEOF(err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %v", tok)
	}
	return s, nil
}

func (p parser) delim(d json.Delim) error {
	tok, err := p.dec.Token()
	if err != nil {
		return noEOF(err)
	}
	if tok != d {
		return fmt.Errorf("want %q, got %v", d, tok)
	}
	return nil
}
