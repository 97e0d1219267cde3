package vkcnn_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// modulePath is the library's import path.
const modulePath = "github.com/vkcnn/vkcnn"

// readmeProgram is the Go program README.md shows (its first go code
// block), which docs/library.md shows too: it loads a run and classifies
// an image.
func readmeProgram(t *testing.T) string {
	t.Helper()
	var programs []string
	for _, page := range []string{"README.md", "docs/library.md"} {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		_, program, ok := strings.Cut(string(text), "```go\n")
		program, _, _ = strings.Cut(program, "```")
		if !ok || !strings.Contains(program, "func main()") {
			t.Fatalf("%s shows no Go program", page)
		}
		programs = append(programs, program)
	}
	if programs[0] != programs[1] {
		t.Fatalf("README.md and docs/library.md show different programs:\n%s\n%s", programs[0], programs[1])
	}
	return programs[0]
}

// trainProgram is the program of docs/library.md's "Train from Go".
func trainProgram(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile("docs/library.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(text), "## Train from Go\n")
	_, program, ok := strings.Cut(section, "```go\n")
	program, _, _ = strings.Cut(program, "```")
	if !ok || !strings.Contains(program, "func main()") {
		t.Fatal("docs/library.md's Train from Go shows no Go program")
	}
	return program
}

// TestExternalModule builds README.md's program and docs/library.md's
// training program as a module outside the repository that imports the
// library, as a user's does after go get, and runs them.
//
// The library reaches it through a module proxy on disk (GOPROXY=file://),
// laid out as the proxy protocol says (@v/list, .info, .mod, .zip) with a
// zip made by golang.org/x/mod/zip from the files git would commit
// (tracked, and untracked but not ignored). That is the path go get takes
// from proxy.golang.org: the go command resolves the module by its path
// and version, checks that its go.mod declares that path, and unpacks the
// zip under the module zip's rules (no nested modules, no vendor, size and
// name limits), so a path the go command refuses, a file the zip leaves
// out, or an import of something outside the module fails here. A replace
// directive would read the folder as it is and check none of that. Only
// the checksum database is left out (GOSUMDB=off), which cannot know an
// unpublished version.
//
// It runs offline: the library's dependencies come from this machine's
// module cache, itself a proxy tree (cache/download), and only then from
// the GOPROXY configured (in CI, the Go module proxy). The modules unpacked
// stay in a folder under os.TempDir for the next run, and -trimpath lets
// the build cache serve what an earlier build compiled.
func TestExternalModule(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command: the test binary runs on a machine without Go")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	zipped, version := moduleZip(t, root)
	proxy := t.TempDir()
	at := filepath.Join(proxy, modulePath, "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]any{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	for name, content := range map[string][]byte{"list": []byte(version + "\n"), version + ".info": info, version + ".mod": goMod, version + ".zip": zipped} {
		if err := os.WriteFile(filepath.Join(at, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cache := filepath.Join(os.TempDir(), "vkcnn-external-module-test")
	modCache := filepath.Join(cache, "mod")
	forgetOldVersions(t, modCache, version)
	local := goEnv(t, goBin, "GOMODCACHE")
	upstream := goEnv(t, goBin, "GOPROXY")
	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(local, "cache", "download"))+","+upstream,
		"GOMODCACHE="+modCache, "GOSUMDB=off", "GOFLAGS=-mod=mod -modcacherw", "GOWORK=off")

	user := t.TempDir()
	files := map[string]string{
		"go.mod":        "module example.com/user\n\ngo 1.26\n\nrequire " + modulePath + " " + version + "\n",
		"main.go":       readmeProgram(t),
		"train/main.go": trainProgram(t),
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(user, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(user, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir, cmd.Env = user, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("mod", "tidy")
	program := filepath.Join(user, "user")
	goCmd("build", "-trimpath", "-o", program, ".")
	cmd := exec.Command(program, exampleRun, exampleImage)
	cmd.Dir = user
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the external program: %v\n%s", err, out)
	}
	if want := exampleImage + ": class 2 bottom (probability "; !strings.HasPrefix(string(out), want) {
		t.Errorf("the external program says %q, want %q...", out, want)
	}

	// The training program, on a small generated set.
	trainer := filepath.Join(user, "trainer")
	goCmd("build", "-trimpath", "-o", trainer, "./train")
	data, run := filepath.Join(user, "bands"), filepath.Join(user, "run")
	if err := writeBands(data, 4); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(trainer, data, run)
	cmd.Dir = user
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the external training program: %v\n%s", err, out)
	}
	for _, want := range []string{"\nEpoch 3/3 - ", "\nWrote " + run + ": ", "\ntest accuracy "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the external training program says %q, want %q", out, want)
		}
	}
}

// moduleZip zips the module in root as the proxy serves it, and names a
// version after its contents, so that a module cache kept between runs
// never serves an older zip under it.
// forgetOldVersions removes the library's versions that earlier runs left in
// the module cache, which are of no use again. A version made in the last
// hour may be another test's that is running now (the folder is shared), so
// it stays.
func forgetOldVersions(t *testing.T, modCache, version string) {
	t.Helper()
	unpacked := filepath.Dir(filepath.Join(modCache, modulePath))
	downloaded := filepath.Join(modCache, "cache", "download", modulePath, "@v")
	for _, dir := range []string{unpacked, downloaded} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // nothing cached yet
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || strings.Contains(e.Name(), version) || !strings.Contains(e.Name(), "v0.0.0-test.") || time.Since(info.ModTime()) < time.Hour {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func moduleZip(t *testing.T, root string) ([]byte, string) {
	t.Helper()
	ls := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []zip.File
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		path := filepath.Join(root, name)
		if _, err := os.Lstat(path); err != nil {
			continue // deleted, not yet committed
		}
		files = append(files, file{root: root, path: filepath.ToSlash(name)})
	}
	hash := sha256.New()
	var zipped bytes.Buffer
	// The version is only known after the zip is made, and goes into it
	// only as the prefix of its names: zip once to hash, once to serve.
	if err := zip.Create(hash, module.Version{Path: modulePath, Version: "v0.0.0-test"}, files); err != nil {
		t.Fatal(err)
	}
	version := "v0.0.0-test." + hex.EncodeToString(hash.Sum(nil))[:12]
	if err := zip.Create(&zipped, module.Version{Path: modulePath, Version: version}, files); err != nil {
		t.Fatal(err)
	}
	return zipped.Bytes(), version
}

// file is a file of the working tree for zip.Create.
type file struct{ root, path string }

func (f file) Path() string                 { return f.path }
func (f file) Lstat() (fs.FileInfo, error)  { return os.Lstat(filepath.Join(f.root, f.path)) }
func (f file) Open() (io.ReadCloser, error) { return os.Open(filepath.Join(f.root, f.path)) }

func goEnv(t *testing.T, goBin, name string) string {
	t.Helper()
	out, err := exec.Command(goBin, "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
