package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummaryOfKerasFiles: vkcnn summary --model prints Keras' parameter
// counts for Keras files of each dialect, Sequential models and graphs
// (the keras package's test files), a graph's as Keras prints a
// functional model's, with the layers each layer reads.
func TestSummaryOfKerasFiles(t *testing.T) {
	connection := strings.Repeat(" ", 65) // where a layer's next input is named
	for _, c := range []struct {
		file  string
		lines []string
	}{
		{"standard_cnn_keras2.0.6.json", []string{"dense_1 (Dense)              (None, 328)               32,915,784",
			"Total params: 35,445,522", "Trainable params: 35,445,522", "Non-trainable params: 0"}},
		{"tfjs_sequential.json", []string{"conv_a (Conv2D)              (None, 28, 28, 8)         80",
			"Total params: 28,778", "Trainable params: 28,682", "Non-trainable params: 96"}},
		{"keras3_sequential.json", []string{"dense (Dense)                (None, 64)                131,136",
			"Total params: 145,130", "Trainable params: 13,962", "Non-trainable params: 131,168"}},
		{"tfjs_functional.json", []string{"joined (Concatenate)            (None, 13, 13, 20)   0           down[0][0]\n" + connection + "side[0][0]",
			"Total params: 2,342", "Trainable params: 2,326", "Non-trainable params: 16"}},
		{"tfjs_activations.json", []string{"leaky_default (LeakyReLU)    (None, 28, 28, 4)         0",
			"hidden_relu6 (Dense)         (None, 10)                90", "Total params: 576"}},
		{"keras3_functional.json", []string{"conv2d_2 (Conv2D)               (None, 16, 16, 32)   4,640       activation_1[0][0]",
			"Total params: 8,050", "Trainable params: 7,986", "Non-trainable params: 64"}},
	} {
		out, errOut, status := runVkcnn(t, nil, "summary", "--model", filepath.Join("..", "keras", "testdata", c.file))
		if status != 0 {
			t.Fatalf("%s: status %d: %s", c.file, status, errOut)
		}
		for _, line := range c.lines {
			if !strings.Contains(out, line+"\n") {
				t.Errorf("%s: no line %q in\n%s", c.file, line, out)
			}
		}
	}
}

// TestKerasLenient: a Keras file's regularizer is refused in one line,
// and dropped with a warning under --lenient.
func TestKerasLenient(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "keras", "testdata", "tfjs_sequential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var model map[string]any
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatal(err)
	}
	layers := model["config"].(map[string]any)["layers"].([]any)
	layers[1].(map[string]any)["config"].(map[string]any)["kernel_regularizer"] = map[string]any{"class_name": "L1L2", "config": map[string]any{"l1": 0, "l2": 0.001}}
	path := filepath.Join(t.TempDir(), "regularized.json")
	if data, err = json.Marshal(model); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, status := runVkcnn(t, nil, "summary", "--model", path)
	if want := "vkcnn: " + path + ": layer conv_a (Conv2D): kernel_regularizer L1L2: vkcnn has no regularizers or constraints (--lenient drops them)\n"; status != 1 || errOut != want {
		t.Errorf("status %d, %q; want 1, %q", status, errOut, want)
	}
	out, errOut, status := runVkcnn(t, nil, "summary", "--model", path, "--lenient")
	if want := "vkcnn: warning: layer conv_a (Conv2D): kernel_regularizer L1L2 dropped (--lenient)\n"; status != 0 || errOut != want || !strings.Contains(out, "Total params: 28,778") {
		t.Errorf("--lenient: status %d, %q, want 0, %q, with the counts:\n%s", status, errOut, want, out)
	}
}
