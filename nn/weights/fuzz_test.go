package weights

import (
	"bytes"
	"testing"
)

// Read must turn any input into an error or tensors that agree with their
// shapes and survive a Write/Read round trip bit for bit; never a panic.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	if err := Write(&b, sample(), sampleMeta); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, meta, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, x := range tensors {
			n, err := elements(x.Shape, int64(len(data)))
			if err != nil || n != int64(len(x.Data)) {
				t.Fatalf("tensor %q: shape %v, %d values (%v)", x.Name, x.Shape, len(x.Data), err)
			}
		}
		var again bytes.Buffer
		if err := Write(&again, tensors, meta); err != nil {
			t.Fatalf("Write of what Read returned: %v", err)
		}
		back, meta2, err := Read(bytes.NewReader(again.Bytes()), int64(again.Len()))
		if err != nil {
			t.Fatalf("Read of what Write wrote: %v", err)
		}
		if !sameBits(tensors, back) || len(meta) != len(meta2) {
			t.Fatalf("round trip changed the contents")
		}
		for k, v := range meta {
			if meta2[k] != v {
				t.Fatalf("metadata %q: %q became %q", k, v, meta2[k])
			}
		}
	})
}
