package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeFileSaysWhatIsWrong: a path that is not an image file is
// refused in one line that says why, not as an unknown format.
func TestDecodeFileSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	empty, locked, text := filepath.Join(dir, "empty.png"), filepath.Join(dir, "locked.png"), filepath.Join(dir, "notes.png")
	for path, body := range map[string]string{empty: "", locked: "\x89PNG", text: "hello"} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.png")
	cases := []struct{ path, want string }{
		{missing, missing + ": no such file"},
		{dir, dir + ": a folder, not an image file (give the images in it, as " + filepath.Join(dir, "*.png") + ")"},
		{empty, empty + ": an empty file, not an image"},
		{locked, locked + ": cannot be read: permission denied"},
		{filepath.Join(text, "x.png"), filepath.Join(text, "x.png") + ": cannot be read: not a directory"},
		{text, text + ": cannot be decoded as PNG, JPEG, GIF, BMP or WebP: image: unknown format"},
	}
	for _, c := range cases {
		if c.path == locked && os.Geteuid() == 0 {
			continue // root reads it all the same
		}
		_, err := DecodeFile(c.path)
		if err == nil || err.Error() != c.want || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", filepath.Base(c.path), err, c.want)
		}
		if _, err := decodeConfig(c.path); err == nil || err.Error() != c.want {
			t.Errorf("%s: header: %v, want %q", filepath.Base(c.path), err, c.want)
		}
	}
}
