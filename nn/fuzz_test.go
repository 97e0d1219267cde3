package nn

import (
	"testing"
)

// FuzzParseSpec feeds model.json parsing arbitrary bytes: it must return
// a model that builds, or an error, and never panic.
func FuzzParseSpec(f *testing.F) {
	for _, name := range Presets {
		spec, _ := Preset(name)
		data, _ := spec.JSON()
		f.Add(data)
	}
	f.Add([]byte(`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`))
	f.Add([]byte(`{"format":"vkcnn-sequential-1","input_shape":[0,-1,1e9],"layers":[{"type":"conv2d","filters":-3}]}`))
	f.Add([]byte(`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"dense","units":2147483647,"activation":"softmax"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSpec(data)
		if err != nil {
			return
		}
		m, err := Build(spec)
		if err != nil {
			t.Fatalf("ParseSpec accepted a model that does not build: %v", err)
		}
		if m.ParamFloats < m.CountParams() {
			t.Fatalf("parameter vector of %d floats for %d parameters", m.ParamFloats, m.CountParams())
		}
	})
}
