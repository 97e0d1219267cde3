package kernels

import (
	"fmt"
	"strings"

	"github.com/vkcnn/vkcnn/vk"
)

// Precision is the arithmetic of a GEMM-shaped product: fp32 on every
// kernel family, or on the cooperative-matrix kernels bf16 inputs with
// fp32 accumulation, the operands rounded once (bf16) or split into a
// bf16 high and low part whose products hi*hi + hi*lo + lo*hi are summed
// (bf16x3: about 16 significant bits, where TF32 keeps 11). Weights,
// Adam and every other kernel stay fp32.
type Precision uint8

const (
	FP32 Precision = iota
	BF16
	BF16x3
)

// Precisions lists every precision, fp32 first.
var Precisions = []Precision{FP32, BF16, BF16x3}

var precisionNames = [...]string{"fp32", "bf16", "bf16x3"}

// PrecisionNames are the precisions' names, in Precisions' order: what
// --precision takes, and what vkcnn bench precision --list prints for
// scripts.
func PrecisionNames() []string { return precisionNames[:] }

// BF16Parts is how many bf16 parts the precision splits each operand
// into: none at fp32 (the operands as they are), one at bf16 (rounded),
// two at bf16x3 (a high and a low part, whose hi*hi, hi*lo and lo*hi are
// summed). ref.Terms takes it.
func (p Precision) BF16Parts() int {
	switch p {
	case BF16:
		return 1
	case BF16x3:
		return 2
	}
	return 0
}

func (p Precision) String() string {
	if int(p) < len(precisionNames) {
		return precisionNames[p]
	}
	return fmt.Sprintf("precision(%d)", uint8(p))
}

// ParsePrecision reads a precision's name.
func ParsePrecision(s string) (Precision, error) {
	for i, name := range precisionNames {
		if s == name {
			return Precision(i), nil
		}
	}
	return FP32, fmt.Errorf("unknown precision %q (%s)", s, strings.Join(PrecisionNames(), ", "))
}

// MarshalText writes the precision's name (run.json, checkpoints).
func (p Precision) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a precision's name.
func (p *Precision) UnmarshalText(b []byte) error {
	v, err := ParsePrecision(string(b))
	*p = v
	return err
}

// matrix says the precision runs on the cooperative-matrix kernels.
func (p Precision) matrix() bool { return p != FP32 }

// matrixInstance is how a device runs the cooperative-matrix kernels: the
// shaders' suffix, the fragment shape and the invocations of a
// subgroup. runs is false for an instance compiled only to check the code
// a device's compiler makes of it.
type matrixInstance struct {
	suffix     string
	tm, tn, tk uint32
	lanes      uint32
	runs       bool
}

// fp16OnCPU runs the fp16 instance, not the emulation, on a CPU device
// that offers fp16 matrices (lavapipe from Mesa 26): the kernel tests do,
// to run the cooperative-matrix code as a driver compiles it, against
// references rounded to fp16. Training never does: fp16's range does not
// hold unscaled gradients.
var fp16OnCPU bool

// emulated is the plain-GLSL instance (matrix_emu_ops.glsl): 16x16x16
// fragments over 32 invocations, 8 entries of an accumulator each.
var emulated = matrixInstance{suffix: "emu", tm: 16, tn: 16, tk: 16, lanes: 32, runs: true}

// instance is the device's matrix instance: cooperative matrices of
// bfloat16 inputs and float32 accumulators at subgroup scope where it has
// them (16x16x16 where offered, else the first such shape); the
// emulation on a CPU device (lavapipe; its fp16 matrices with fp16OnCPU);
// else fp16
// matrices, compiled to check the code but not run (fp16's range does not
// hold unscaled gradients); else why not, naming what the device offers.
func instance(info vk.DeviceInfo) (matrixInstance, error) {
	if shape, ok := matrixShape(info, "bfloat16"); ok && info.Bfloat16 {
		return matrixInstance{suffix: "bf16", tm: shape.M, tn: shape.N, tk: shape.K, lanes: info.SubgroupSize, runs: true}, nil
	}
	if info.Type == "CPU" {
		if shape, ok := matrixShape(info, "float16"); ok && fp16OnCPU {
			return matrixInstance{suffix: "f16", tm: shape.M, tn: shape.N, tk: shape.K, lanes: info.SubgroupSize, runs: true}, nil
		}
		return emulated, nil
	}
	if shape, ok := matrixShape(info, "float16"); ok {
		return matrixInstance{suffix: "f16", tm: shape.M, tn: shape.N, tk: shape.K, lanes: info.SubgroupSize}, nil
	}
	return matrixInstance{}, fmt.Errorf("%s offers %s", info.Name, Offered(info))
}

// matrixShape is the device's subgroup-scope shape of elem inputs and
// float32 accumulators: 16x16x16 where offered, else the first.
func matrixShape(info vk.DeviceInfo, elem string) (vk.MatrixShape, bool) {
	var found []vk.MatrixShape
	for _, s := range info.CooperativeMatrices {
		if s.A == elem && s.B == elem && s.C == "float32" && s.Result == "float32" && strings.EqualFold(s.Scope, "subgroup") {
			found = append(found, s)
		}
	}
	for _, s := range found {
		if s.M == 16 && s.N == 16 && s.K == 16 {
			return s, true
		}
	}
	if len(found) == 0 {
		return vk.MatrixShape{}, false
	}
	return found[0], true
}

// Offered lists the device's cooperative matrices in words.
func Offered(info vk.DeviceInfo) string {
	if len(info.CooperativeMatrices) == 0 {
		return "no cooperative matrices"
	}
	var shapes []string
	for _, s := range info.CooperativeMatrices {
		shapes = append(shapes, s.String())
	}
	bf16 := "without"
	if info.Bfloat16 {
		bf16 = "with"
	}
	return fmt.Sprintf("cooperative matrices of %s, %s VK_KHR_shader_bfloat16", strings.Join(shapes, ", "), bf16)
}

// runnable is the device's matrix instance where it runs it, or with
// compile where it compiles it.
func runnable(info vk.DeviceInfo, compile bool) (matrixInstance, error) {
	inst, err := instance(info)
	if err == nil && !inst.runs && !compile {
		err = fmt.Errorf("%s offers %s", info.Name, Offered(info))
	}
	if err != nil {
		return inst, fmt.Errorf("the matrix precisions need cooperative matrices of bfloat16 inputs and float32 accumulators: %w", err)
	}
	return inst, nil
}

// CheckPrecision reports whether the device runs products at precision
// p, and why not: the matrix precisions need cooperative matrices of
// bfloat16 inputs and float32 accumulators, or a CPU device, which runs
// their emulation.
func CheckPrecision(info vk.DeviceInfo, p Precision) error {
	if !p.matrix() {
		return nil
	}
	_, err := runnable(info, false)
	return err
}
