package kernels

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk"
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

// Skip is a variant that runs none of the products, and why.
type Skip struct {
	Variant string
	Why     error
}

// Pipelines lists, once each and by shader name, the pipelines of the
// products (named by names) in every one of variants that runs them at
// one of precs (check; a matrix variant on a device that only compiles
// its instance, too) and those of the other kernels, the augmentation's
// for images of geometry g: every pipeline a training step or evaluation
// of the products' model can build on the device (info) at those
// precisions. The constants come from the code that dispatches them.
// skipped are the variants that run none of the products.
func Pipelines(info vk.DeviceInfo, names []string, products []Product, variants []GemmVariant, precs []Precision, g augment.Geometry) (out []Pipeline, skipped []Skip, err error) {
	seen := map[string]int{}
	add := func(s shader, user string) error {
		key := fmt.Sprint(s.name, s.spec)
		if i, ok := seen[key]; ok {
			if user != "" && !slices.Contains(out[i].Users, user) {
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
		var why error
		ran := false
		for _, prec := range precs {
			for i, p := range products {
				// A split GEMM leaves its bias and ReLU to the sum: another
				// pipeline where it has them.
				for _, split := range []int{1, 2} {
					ch := Choice{Variant: v, Split: split, Precision: prec}
					if err := check(info, p, ch, true); err != nil {
						if split == 1 {
							why = cmp.Or(why, err)
						}
						continue
					}
					ran = true
					if err := add(p.With(ch).shader(info, split > 1), names[i]); err != nil {
						return nil, nil, err
					}
				}
			}
		}
		if !ran {
			skipped = append(skipped, Skip{Variant: v.Name, Why: why})
		}
	}
	for _, s := range append(slices.Clone(fixedShaders), augmentShader(g, false)) {
		if err := add(s, ""); err != nil {
			return nil, nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out, skipped, nil
}
