package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cli/internal/measure"
)

// binary is vkcnn built once for the tests that run it as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vkcnn-cli-test")
	if err != nil {
		panic(err)
	}
	// The user's own tuning cache must not change what the tests run.
	os.Setenv("VKCNN_TUNING", filepath.Join(dir, "tuning.json"))
	// A machine without Go (a GPU machine that runs the test binaries
	// scripts/gpu-check.sh built) names a vkcnn built from the same tree.
	if binary = os.Getenv("VKCNN_TEST_BINARY"); binary == "" {
		binary = filepath.Join(dir, "vkcnn")
		build := exec.Command("go", "build", "-o", binary, "github.com/vkcnn/vkcnn/cmd/vkcnn")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			panic("build vkcnn: " + err.Error())
		}
	} else if binary, err = filepath.Abs(binary); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runVkcnn(t *testing.T, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	return runBinary(t, binary, env, args...)
}

// runBinary runs a vkcnn binary with the environment and env; a process
// killed by a signal has status -1.
func runBinary(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	return runBinaryIn(t, bin, "", env, args...)
}

// runBinaryIn is runBinary in the folder dir ("": the test's).
func runBinaryIn(t *testing.T, bin, dir string, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

func TestErrorsAreOneLineAndStatus1(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no loader", []string{"VKCNN_VULKAN_LIB=/nonexistent/libvulkan.so.1"}, []string{"devices"}, "cannot load the Vulkan loader"},
		{"no driver", []string{"VK_ICD_FILENAMES=/nonexistent.json", "VK_DRIVER_FILES=/nonexistent.json"}, []string{"devices"}, "no Vulkan device found"},
		{"device out of range", nil, []string{"bench", "gemm", "--m", "8", "--n", "8", "--k", "8", "--device", "99"}, "device 99 does not exist"},
		{"device by name", nil, []string{"bench", "gemm", "--device", "no-such-gpu"}, "no device matches"},
		{"bad size", nil, []string{"bench", "gemm", "--m", "0"}, "must be positive"},
		{"bad reps", nil, []string{"bench", "gemm", "--reps", "0"}, "--reps must be positive"},
		{"not a number", nil, []string{"bench", "gemm", "--m", "x"}, "invalid value"},
		{"unknown flag", nil, []string{"bench", "gemm", "--bogus"}, "flag provided but not defined"},
		{"unknown variant", nil, []string{"bench", "gemm", "--m", "8", "--n", "8", "--k", "8", "--variant", "nope"}, "unknown GEMM variant"},
		{"unknown command", nil, []string{"nope"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, status := runVkcnn(t, c.env, c.args...)
			if status != 1 {
				t.Errorf("exit status %d, want 1", status)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "vkcnn: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q: want one line with %q", stderr, c.want)
			}
		})
	}
}

func TestDevicesJSONMarksOneDefault(t *testing.T) {
	stdout, stderr, status := runVkcnn(t, nil, "devices", "--json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var devices []struct {
		Name         string `json:"name"`
		Default      bool   `json:"default"`
		SubgroupSize uint32 `json:"subgroup_size"`
	}
	if err := json.Unmarshal([]byte(stdout), &devices); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	defaults := 0
	for _, d := range devices {
		if d.Name == "" || d.SubgroupSize == 0 {
			t.Errorf("incomplete device %+v", d)
		}
		if d.Default {
			defaults++
		}
	}
	if len(devices) == 0 || defaults != 1 {
		t.Fatalf("%d devices, %d marked default", len(devices), defaults)
	}
}

func TestBenchGemmVerifiesAndTimes(t *testing.T) {
	stdout, stderr, status := runVkcnn(t, nil, "bench", "gemm", "--m", "40", "--n", "24", "--k", "36", "--reps", "2", "--variant", "all", "--json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var results []measure.GemmResult
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if len(results) == 0 {
		t.Fatal("no results")
	}
	for _, r := range results {
		if r.Checked != 40*24 || r.MaxError > 1e-4 || r.MinSeconds <= 0 || r.MedianSeconds < r.MinSeconds || r.BestGFLOPS <= 0 {
			t.Errorf("implausible result %+v", r)
		}
	}
}
