package kernels

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
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

// TestTotalsLayout checks that shaders/accumulate.comp's line on its
// totals names Totals' fields in their order (the shader indexes a float
// array, whose bytes shaders' digest test pins), and that Words, TotalsOf
// and the checkpoints' JSON keep that order.
func TestTotalsLayout(t *testing.T) {
	text, err := os.ReadFile("../../shaders/accumulate.comp")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`// totals: \[([^\]]*)\]`).FindSubmatch(text)
	if line == nil {
		t.Fatal("accumulate.comp does not say its totals' layout")
	}
	got := strings.Split(string(line[1]), ", ")
	var want []string
	for f := range reflect.TypeFor[Totals]().Fields() {
		want = append(want, strings.ToLower(f.Name[:1])+f.Name[1:])
	}
	if !slices.Equal(got, want) || len(want) != TotalsWords {
		t.Errorf("accumulate.comp's totals are %q, Totals' fields %q (TotalsWords %d)", got, want, TotalsWords)
	}
	totals := Totals{Loss: 1, LossCompensation: 2, Correct: 3, Samples: 4}
	if w := totals.Words(); !slices.Equal(w, []float32{1, 2, 3, 4}) || TotalsOf(w) != totals {
		t.Errorf("Words %v, TotalsOf them %+v: not in the fields' order", w, TotalsOf(w))
	}
	js, err := json.Marshal(totals)
	if err != nil || string(js) != "[1,2,3,4]" {
		t.Fatalf("JSON %s (%v), want the words' array", js, err)
	}
	var back Totals
	if err := json.Unmarshal(js, &back); err != nil || back != totals {
		t.Errorf("JSON read back %+v (%v), want %+v", back, err, totals)
	}
}
