package kernels

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestStepHeader checks that shaders/step.glsl declares the step buffer's
// header in the words the Step* constants give them, four bytes each.
func TestStepHeader(t *testing.T) {
	text, err := os.ReadFile("../../shaders/step.glsl")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`buffer Step \{([^}]*)\}`).FindSubmatch(regexp.MustCompile(`//.*`).ReplaceAll(text, nil))
	if block == nil {
		t.Fatal("step.glsl declares no buffer Step")
	}
	var got []string
	for _, m := range regexp.MustCompile(`(\w+)\s+(\w+)\s*;`).FindAllSubmatch(block[1], -1) {
		if typ := string(m[1]); typ != "uint" && typ != "float" {
			t.Errorf("member %s is a %s, not a 4-byte uint or float", m[2], typ)
		}
		got = append(got, string(m[2]))
	}
	want := make([]string, StepWords)
	want[StepCounter], want[StepSeed], want[StepValid], want[StepLR] = "counter", "seed", "valid", "lr"
	want[StepStepSize], want[StepCorr2Sqrt], want[StepDecay] = "stepSize", "corr2Sqrt", "decay"
	if !slices.Equal(got, want) {
		t.Errorf("step.glsl's header is %q, the Step* constants index %q", got, want)
	}
}
