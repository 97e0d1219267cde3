package keras

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// FuzzRead feeds the Keras reader arbitrary bytes: it must return a model
// that builds and whose model.json (a run folder's) parses, or an error,
// and never panic.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(sequential(layer("Conv2D", convConfig), flat, layer("Dense", denseConfig)))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Read(data, Options{Lenient: true})
		if err != nil {
			return
		}
		if _, err := nn.Build(spec); err != nil {
			t.Fatalf("Read returned a model that does not build: %v", err)
		}
		js, err := spec.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nn.ParseSpec(js); err != nil {
			t.Fatalf("its model.json does not parse: %v\n%s", err, js)
		}
	})
}
