package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// special holds values whose bits a careless float path would change: NaNs
// with payloads (quiet and signalling, both signs), -0, denormals, infinities.
var special = []float32{
	math.Float32frombits(0x7fc00001),
	math.Float32frombits(0xffa12345),
	math.Float32frombits(0x7f800001),
	math.Float32frombits(0x80000000),
	math.Float32frombits(0x00000001),
	math.Float32frombits(0x807fffff),
	float32(math.Inf(1)), float32(math.Inf(-1)),
	math.MaxFloat32, -math.SmallestNonzeroFloat32, 1.0 / 3, 0,
}

func sample() []Tensor {
	return []Tensor{
		// Deliberately not in name order: data must follow the given order.
		{Name: "conv2d_1.kernel", Shape: []int{2, 2, 1, 3}, Data: special},
		{Name: "conv2d_1.bias", Shape: []int{3}, Data: []float32{1, -2, 3.5}},
		{Name: "adam.step", Shape: []int{}, Data: []float32{7}},
		{Name: "empty", Shape: []int{0, 5}, Data: []float32{}},
		{Name: "dense_1.bias", Shape: []int{2}, Data: []float32{-0.25, 1e-30}},
	}
}

var sampleMeta = map[string]string{"format": "vkcnn", "layout": "keras-channels-last", "note": "ünïcödé \"quoted\" <tag>"}

func encode(t *testing.T, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, tensors, meta); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func decode(t *testing.T, b []byte) ([]Tensor, map[string]string) {
	t.Helper()
	tensors, meta, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return tensors, meta
}

// sameBits reports whether a and b have equal names, shapes and data bits.
func sameBits(a, b []Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Shape) != len(b[i].Shape) || len(a[i].Data) != len(b[i].Data) {
			return false
		}
		for j := range a[i].Shape {
			if a[i].Shape[j] != b[i].Shape[j] {
				return false
			}
		}
		for j := range a[i].Data {
			if math.Float32bits(a[i].Data[j]) != math.Float32bits(b[i].Data[j]) {
				return false
			}
		}
	}
	return true
}

func TestRoundTripBitExact(t *testing.T) {
	in := sample()
	out, meta := decode(t, encode(t, in, sampleMeta))
	if !sameBits(in, out) {
		t.Errorf("round trip changed tensors:\n in: %v\nout: %v", in, out)
	}
	if !reflect.DeepEqual(meta, sampleMeta) {
		t.Errorf("metadata = %v, want %v", meta, sampleMeta)
	}
}

func TestNoMetadata(t *testing.T) {
	b := encode(t, sample()[1:2], nil)
	if bytes.Contains(b, []byte(metadataKey)) {
		t.Errorf("header has %s without metadata: %q", metadataKey, b)
	}
	if _, meta := decode(t, b); meta == nil || len(meta) != 0 {
		t.Errorf("metadata = %#v, want an empty map", meta)
	}
}

func TestResaveIsByteIdentical(t *testing.T) {
	first := encode(t, sample(), sampleMeta)
	again := encode(t, sample(), sampleMeta) // map iteration order must not matter
	tensors, meta := decode(t, first)
	resaved := encode(t, tensors, meta)
	if !bytes.Equal(first, again) || !bytes.Equal(first, resaved) {
		t.Errorf("saves differ:\n%q\n%q\n%q", first, again, resaved)
	}
}

// TestExactBytes pins the layout: length, sorted keys, given data order,
// space padding to 8 bytes, little-endian data.
func TestExactBytes(t *testing.T) {
	got := encode(t, []Tensor{
		{Name: "b", Shape: []int{1}, Data: []float32{1}},
		{Name: "a", Shape: []int{1, 1}, Data: []float32{-2}},
	}, map[string]string{"format": "vkcnn"})
	header := `{"__metadata__":{"format":"vkcnn"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	want = append(want, header...)
	want = append(want, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0)
	if !bytes.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestWriteRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"shape/data mismatch", []Tensor{{Name: "w", Shape: []int{2, 2}, Data: make([]float32, 3)}}, nil, `tensor "w": shape [2 2] holds 4 values, data has 3`},
		{"negative dim", []Tensor{{Name: "w", Shape: []int{-1, -2}, Data: make([]float32, 2)}}, nil, `tensor "w": shape [-1 -2] has a negative dimension`},
		{"huge shape", []Tensor{{Name: "w", Shape: []int{1 << 40, 1 << 40}}}, nil, `tensor "w": shape`},
		{"duplicate", []Tensor{{Name: "w", Shape: []int{}, Data: []float32{1}}, {Name: "w", Shape: []int{}, Data: []float32{1}}}, nil, `tensor "w": duplicate name`},
		{"reserved", []Tensor{{Name: metadataKey, Shape: []int{}, Data: []float32{1}}}, nil, "reserved"},
		{"bad utf-8 name", []Tensor{{Name: "w\xff", Shape: []int{}, Data: []float32{1}}}, nil, "not valid UTF-8"},
		{"bad utf-8 metadata", nil, map[string]string{"k": "\xfe"}, `metadata "k": not valid UTF-8`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tc.tensors, tc.meta)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

// file builds a safetensors file from a raw header and data size.
func file(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

func TestReadCorrupt(t *testing.T) {
	valid := encode(t, sample(), sampleMeta)
	tensor := func(name, dtype, shape, offsets string) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}`
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "empty file"},
		{"truncated header length", []byte{8, 0, 0}, "truncated: 3 bytes"},
		{"header length past EOF", valid[:100], "runs past the end of the 100-byte file"},
		{"header length huge", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "runs past the end"},
		{"truncated data", valid[:len(valid)-1], `tensor "dense_1.bias": data_offsets [64, 72] are outside the 71 data bytes`},
		{"bad JSON", file(`{"a":`, 0), `header: tensor "a": unexpected EOF`},
		{"bad JSON syntax", file(`{"a" {}}`, 0), `header: tensor "a": invalid character '{' after object key`},
		{"not an object", file(`null`, 0), `header: want "{", got <nil>`},
		{"JSON then garbage", file(`{} x`, 0), "header: data after the JSON object"},
		{"wrong dtype", file(`{`+tensor("w", "F16", "[2]", "[0,4]")+`}`, 4), `tensor "w": dtype "F16" is not supported (only F32)`},
		{"shape/offset mismatch", file(`{`+tensor("w", "F32", "[3]", "[0,8]")+`}`, 8), `tensor "w": shape [3] needs 12 bytes, data_offsets [0, 8] hold 8`},
		{"overlapping offsets", file(`{`+tensor("a", "F32", "[2]", "[0,8]")+`,`+tensor("b", "F32", "[2]", "[4,12]")+`}`, 12), `tensor "b": data_offsets [4, 12] overlap tensor "a"`},
		{"gap", file(`{`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor("b", "F32", "[1]", "[8,12]")+`}`, 12), `tensor "b": data_offsets [8, 12] leave bytes 4..8 unused`},
		{"not starting at 0", file(`{`+tensor("a", "F32", "[1]", "[4,8]")+`}`, 8), `tensor "a": data_offsets [4, 8] leave bytes 0..4 unused`},
		{"trailing bytes", append(bytes.Clone(valid), 0), "1 trailing bytes after the last tensor"},
		{"offsets past data", file(`{`+tensor("a", "F32", "[2]", "[0,8]")+`}`, 4), `tensor "a": data_offsets [0, 8] are outside the 4 data bytes`},
		{"offsets reversed", file(`{`+tensor("a", "F32", "[0]", "[4,0]")+`}`, 4), `tensor "a": data_offsets [4, 0] are outside`},
		{"negative dim", file(`{`+tensor("a", "F32", "[-1]", "[0,4]")+`}`, 4), `tensor "a": "shape": -1 is not a non-negative 64-bit integer`},
		{"fractional dim", file(`{`+tensor("a", "F32", "[1.0]", "[0,4]")+`}`, 4), `tensor "a": "shape": 1.0 is not`},
		{"dim over int64", file(`{`+tensor("a", "F32", "[99999999999999999999]", "[0,4]")+`}`, 4), `is not a non-negative 64-bit integer`},
		{"shape overflow", file(`{`+tensor("a", "F32", "[4611686018427387904,4611686018427387904]", "[0,4]")+`}`, 4), `tensor "a": shape [4611686018427387904 4611686018427387904] holds more than 2305843009213693951 values`},
		{"duplicate tensor", file(`{`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor("a", "F32", "[1]", "[0,4]")+`}`, 4), `header: duplicate key "a"`},
		{"duplicate field", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), `tensor "a": duplicate key "dtype"`},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), `tensor "a": unknown field "x"`},
		{"missing field", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 4), `tensor "a": missing "shape"`},
		{"null shape", file(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, 4), `tensor "a": "shape": want "[", got <nil>`},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, 4), `tensor "a": "data_offsets" has 3 values`},
		{"metadata not string", file(`{"__metadata__":{"k":1}}`, 0), `header: __metadata__ "k": want a string, got 1`},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, 0), `duplicate key "__metadata__"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tensors, meta, err := Read(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if tensors != nil || meta != nil {
				t.Errorf("returned %v, %v with the error", tensors, meta)
			}
		})
	}
}

func TestReadSizeDisagreesWithStream(t *testing.T) {
	b := encode(t, sample(), nil)
	if _, _, err := Read(bytes.NewReader(b[:len(b)-4]), int64(len(b))); err == nil || !strings.Contains(err.Error(), `tensor "dense_1.bias": read data: unexpected EOF`) {
		t.Errorf("short stream: err = %v", err)
	}
	if _, _, err := Read(bytes.NewReader(append(b, 1, 2)), int64(len(b))); err == nil || !strings.Contains(err.Error(), "2 bytes more than the declared size") {
		t.Errorf("long stream: err = %v", err)
	}
}

func TestSaveLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weights.safetensors")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := sample()
	if err := SaveFile(path, in, sampleMeta); err != nil {
		t.Fatalf("SaveFile: %v", err)
	}
	out, meta, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if !sameBits(in, out) || !reflect.DeepEqual(meta, sampleMeta) {
		t.Errorf("file round trip changed the contents")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only the weights (no temp files)", entries)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("stat: %v, %v; want mode 0644", st, err)
	}
}

func TestSaveFileFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	if err := SaveFile(path, sample(), nil); err != nil {
		t.Fatal(err)
	}
	bad := []Tensor{{Name: "w", Shape: []int{2}, Data: []float32{1}}}
	err := SaveFile(path, bad, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "save "+path+`: tensor "w"`) {
		t.Fatalf("err = %v, want it to name the file and tensor", err)
	}
	if out, _, err := LoadFile(path); err != nil || !sameBits(out, sample()) {
		t.Errorf("old file damaged: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v after a failed save", entries)
	}
}

func TestLoadFileErrorsNameFileAndTensor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, file(`{"conv2d_1.kernel":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadFile(path)
	want := "load " + path + `: tensor "conv2d_1.kernel": dtype "BF16" is not supported (only F32)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if _, _, err := LoadFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, _, err := LoadFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
}
