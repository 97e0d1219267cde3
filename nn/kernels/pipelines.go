package kernels

import (
	"fmt"
	"sort"

	"vkcnn/vk"
)

// Pipeline is one pipeline vkcnn builds: a shader with the specialization
// constants one of its dispatches uses.
type Pipeline struct {
	// Label says what the constants select: the GEMM variant and flags, or
	// the pass of a fixed kernel ("" where it has one pipeline).
	Label string
	Spec  vk.KernelSpec
	// Users are the names of the products that run it (none for the
	// fixed kernels).
	Users []string
}

// Pipelines lists, once each and by shader name, the pipelines of the
// products (named by names) in every one of variants and those of the
// other kernels: every pipeline a training step or evaluation of the
// products' model can build on the device (info) whose usable variants are
// these. The constants come from the code that dispatches them.
func Pipelines(info vk.DeviceInfo, names []string, products []Product, variants []GemmVariant) ([]Pipeline, error) {
	var out []Pipeline
	seen := map[string]int{}
	add := func(s shader, user string) error {
		key := fmt.Sprint(s.name, s.spec)
		if i, ok := seen[key]; ok {
			if user != "" {
				out[i].Users = append(out[i].Users, user)
			}
			return nil
		}
		spec, err := s.kernelSpec()
		if err != nil {
			return err
		}
		p := Pipeline{Label: s.label, Spec: spec}
		if user != "" {
			p.Users = []string{user}
		}
		seen[key] = len(out)
		out = append(out, p)
		return nil
	}
	for _, v := range variants {
		for i, p := range products {
			for _, split := range []bool{false, true} {
				// A split GEMM leaves its bias and ReLU to the sum.
				if split && (p.Gemm == nil || v.Style != Warp || !p.Gemm.Bias && !p.Gemm.ReLU) || v.Runs(p) != nil {
					continue
				}
				if err := add(p.With(Choice{Variant: v, Split: 1}).shader(info, split), names[i]); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, s := range fixedShaders {
		if err := add(s, ""); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out, nil
}

// shader is the pipeline of the product's GEMM-shaped kernel, as it runs
// unsplit or with its sum over k split.
func (p Product) shader(info vk.DeviceInfo, split bool) shader {
	if p.Conv != nil {
		return p.Conv.shader(info, p.Pass)
	}
	return p.Gemm.shader(info, split)
}
