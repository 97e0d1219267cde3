package vk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/shaders"
)

// TestPipelineCacheRoundTrip builds a pipeline with a cache folder, then
// opens the device again: the cache must start from the saved file; a
// damaged or foreign file must give one warning and an empty cache.
func TestPipelineCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	code, err := shaders.SPIRV("fill")
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	session := func() (path string, loaded int) {
		t.Helper()
		ctx := open(t, Options{PipelineCacheDir: dir, ShaderSet: "test", Warn: func(err error) { warnings = append(warnings, err.Error()) }})
		if _, err := ctx.Kernel(KernelSpec{Name: "fill", Code: code, Bindings: []Access{Write}, PushWords: 2, Spec: []uint32{64}}); err != nil {
			t.Fatal(err)
		}
		built, _, path, loaded := ctx.PipelineStats()
		if built != 1 {
			t.Fatalf("%d pipelines built, want 1", built)
		}
		closeClean(t, ctx)
		return path, loaded
	}
	path, loaded := session()
	if loaded != 0 || filepath.Dir(path) != dir || !strings.Contains(filepath.Base(path), "-test.bin") {
		t.Fatalf("first session: cache %s started from %d bytes", path, loaded)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the cache was not saved: %v", err)
	}
	if _, loaded = session(); loaded != len(saved) {
		t.Fatalf("second session started from %d bytes, the file holds %d", loaded, len(saved))
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	foreign := append([]byte(nil), saved...)
	foreign[20] ^= 0xff // another device's pipelineCacheUUID
	for _, bad := range [][]byte{[]byte("not a cache"), foreign} {
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		warnings = nil
		if _, loaded = session(); loaded != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "starting an empty one") {
			t.Fatalf("a bad cache file: started from %d bytes, warnings %v", loaded, warnings)
		}
	}
}
