package kernels

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/shaders"
	"github.com/vkcnn/vkcnn/vk"
)

// declaredShaders are the pipelines of every declaration that dispatches
// a shader: the fixed kernels and the GEMM-shaped ones in every variant,
// at each precision it runs (the matrix variants on every instance), with
// every flag and unsplit or split.
func declaredShaders() []shader {
	out := append(slices.Clone(fixedShaders), augmentShader(augment.Geometry{Width: 12, Height: 20, Channels: 3}, false), augmentShader(augment.Geometry{Width: 12, Height: 20, Channels: 3}, true))
	bit := func(flags, i int) bool { return flags>>i&1 == 1 }
	for _, v := range GemmVariants {
		infos := []vk.DeviceInfo{{}}
		if v.Style == Matrix {
			infos = matrixDevices
		}
		for _, info := range infos {
			for _, prec := range precisionsOf(v) {
				for flags := range 16 {
					g := Gemm{TransA: bit(flags, 0), TransB: bit(flags, 1), Bias: bit(flags, 2), ReLU: bit(flags, 3), Variant: v, Precision: prec}
					out = append(out, g.shader(info, false))
					if v.staged() {
						out = append(out, g.shader(info, true))
					}
				}
				for _, pass := range []ConvPass{ConvForward, ConvBackwardData, ConvBackwardFilter} {
					for flags := range 4 {
						out = append(out, Conv{Bias: bit(flags, 0), ReLU: bit(flags, 1), Variant: v, Precision: prec}.shader(info, pass))
					}
				}
			}
		}
	}
	return out
}

// matrixDevices are a device of each matrix instance: lavapipe (the
// emulation), a GPU with bf16 matrices and one with fp16 ones alone.
var matrixDevices = []vk.DeviceInfo{lavapipe, h100bf16, navi31}

var (
	includeLine = regexp.MustCompile(`(?m)^\s*#include\s+"([^"]+)"`)
	specIDDecl  = regexp.MustCompile(`\b(?:constant_id|local_size_[xyz]_id)\s*=\s*(\d+)`)
	lineComment = regexp.MustCompile(`//.*`)
)

// sourceSpecIDs are the specialization constant ids a shader's GLSL
// declares, in its .comp and the files it includes: those of the SPIR-V and
// any that glslc -O stripped as unused.
func sourceSpecIDs(name string) (map[uint32]bool, error) {
	ids := map[uint32]bool{}
	seen := map[string]bool{}
	var read func(file string) error
	read = func(file string) error {
		if seen[file] {
			return nil
		}
		seen[file] = true
		text, err := os.ReadFile(filepath.Join("../../shaders", file))
		if err != nil {
			return err
		}
		src := lineComment.ReplaceAllString(string(text), "")
		for _, m := range specIDDecl.FindAllStringSubmatch(src, -1) {
			id, err := strconv.ParseUint(m[1], 10, 32)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			ids[uint32(id)] = true
		}
		for _, m := range includeLine.FindAllStringSubmatch(src, -1) {
			if err := read(m[1]); err != nil {
				return err
			}
		}
		return nil
	}
	return ids, read(name + ".comp")
}

// contract lists where a pipeline's Go declaration and its SPIR-V
// disagree. vk binds storage buffers at set 0, bindings 0..n-1 with the
// declared access, one push-constant range of the declared words, and
// spec[i] as the constant of SpecId i. The SPIR-V must declare exactly
// those bindings and push constants; Go passes every SpecId the SPIR-V
// has, and besides them only constants the source declares (glslc -O
// strips unused ones) or zeros that hold the place of ids no source file
// declares below the highest one it does.
func contract(s shader, m spirvModule, source map[uint32]bool) []string {
	var bad []string
	declared := map[uint32]descriptor{}
	for _, d := range m.descriptors {
		switch {
		case d.set != 0:
			bad = append(bad, fmt.Sprintf("SPIR-V declares set %d binding %d; vk binds set 0 alone", d.set, d.binding))
			continue
		case !d.storage:
			bad = append(bad, fmt.Sprintf("SPIR-V binding %d is not a storage buffer", d.binding))
			continue
		}
		if prev, ok := declared[d.binding]; ok { // aliases of one binding (float and vec4 views)
			d.readable = d.readable || prev.readable
			d.writable = d.writable || prev.writable
		}
		declared[d.binding] = d
	}
	for b := range declared {
		if int(b) >= len(s.access) {
			bad = append(bad, fmt.Sprintf("SPIR-V declares binding %d, Go binds %d buffers", b, len(s.access)))
		}
	}
	for b, want := range s.access {
		d, ok := declared[uint32(b)]
		if !ok {
			bad = append(bad, fmt.Sprintf("Go binds buffer %d, the SPIR-V declares no binding %d", b, b))
			continue
		}
		var got vk.Access
		switch {
		case d.readable && d.writable:
			got = vk.ReadWrite
		case d.readable:
			got = vk.Read
		case d.writable:
			got = vk.Write
		default:
			bad = append(bad, fmt.Sprintf("binding %d is both readonly and writeonly", b))
			continue
		}
		if got != want {
			bad = append(bad, fmt.Sprintf("binding %d: SPIR-V access %s, Go %s", b, accessName(got), accessName(want)))
		}
	}
	if m.pushBytes != 4*s.push {
		bad = append(bad, fmt.Sprintf("push constants: SPIR-V %d bytes, Go %d words", m.pushBytes, s.push))
	}
	highest := -1
	for id := range source {
		highest = max(highest, int(id))
	}
	for id, isBool := range m.specIDs {
		switch {
		case int(id) >= len(s.spec):
			bad = append(bad, fmt.Sprintf("SPIR-V SpecId %d, Go passes %d constants", id, len(s.spec)))
		case isBool && s.spec[id] > 1:
			bad = append(bad, fmt.Sprintf("SpecId %d is a bool, Go passes %d", id, s.spec[id]))
		}
	}
	for i, v := range s.spec {
		id := uint32(i)
		if _, ok := m.specIDs[id]; ok || source[id] {
			continue
		}
		if v != 0 || i > highest {
			bad = append(bad, fmt.Sprintf("Go passes constant %d = %d, which no source file of the shader declares", i, v))
		}
	}
	return bad
}

func accessName(a vk.Access) string {
	return [...]string{vk.Read: "readonly", vk.Write: "writeonly", vk.ReadWrite: "read-write"}[a]
}

// TestShaderContracts compares every pipeline's Go declaration with what
// its SPIR-V declares, and asks every compiled shader to have one.
func TestShaderContracts(t *testing.T) {
	modules := map[string]spirvModule{}
	sources := map[string]map[uint32]bool{}
	for _, s := range declaredShaders() {
		m, ok := modules[s.name]
		if !ok {
			code, err := shaders.SPIRV(s.name)
			if err != nil {
				t.Fatal(err)
			}
			if m, err = parseSPIRV(code); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			modules[s.name] = m
			if sources[s.name], err = sourceSpecIDs(s.name); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		for _, problem := range contract(s, m, sources[s.name]) {
			t.Errorf("%s (constants %v): %s", strings.TrimSpace(s.name+" "+s.label), s.spec, problem)
		}
	}
	files, err := filepath.Glob("../../shaders/*.spv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shaders found: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".spv")
		if _, ok := modules[name]; !ok {
			t.Errorf("shader %s: no Go declaration dispatches it", name)
		}
	}
}

// TestShaderContractsCatchMismatches changes one thing at a time in a
// declaration that holds and wants contract to see each.
func TestShaderContractsCatchMismatches(t *testing.T) {
	code, err := shaders.SPIRV(scaleShader.name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseSPIRV(code)
	if err != nil {
		t.Fatal(err)
	}
	source, err := sourceSpecIDs(scaleShader.name)
	if err != nil {
		t.Fatal(err)
	}
	if bad := contract(scaleShader, m, source); len(bad) > 0 {
		t.Fatalf("scale's declaration: %q", bad)
	}
	for what, change := range map[string]func(*shader){
		"an extra binding":        func(s *shader) { s.access = append(s.access, vk.Read) },
		"a missing binding":       func(s *shader) { s.access = s.access[:1] },
		"a read-write binding":    func(s *shader) { s.access[1] = vk.ReadWrite },
		"an extra push constant":  func(s *shader) { s.push++ },
		"a missing push constant": func(s *shader) { s.push-- },
		"an extra constant":       func(s *shader) { s.spec = append(s.spec, 0) },
		"no workgroup size":       func(s *shader) { s.spec = nil },
	} {
		s := scaleShader
		s.access = slices.Clone(s.access)
		s.spec = slices.Clone(s.spec)
		change(&s)
		if bad := contract(s, m, source); len(bad) == 0 {
			t.Errorf("%s passes", what)
		}
	}
}
