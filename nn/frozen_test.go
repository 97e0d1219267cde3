package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// frozenSpec is tinySpec with its first convolution, first batch
// normalization and first dense layer frozen (trainable: false).
func frozenSpec() ModelSpec {
	frozen := false
	spec := tinySpec()
	for _, i := range []int{0, 3, 7} {
		spec.Layers[i].Trainable = &frozen
	}
	return spec
}

// TestFrozenLayers trains tinySpec with three layers frozen: their
// parameters stay as they started, bit for bit, where every other
// tensor moves (a frozen batch normalization's moving statistics too:
// they are not trained but kept), and the first step's gradients of the
// trainable tensors are the unfrozen model's, bit for bit: the frozen
// tensors' gradients, which batch normalization's input gradient reads,
// are still computed.
func TestFrozenLayers(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(7, 8))
	images, labels := randomSet(rng, 12)
	const batch = 4
	run := func(spec ModelSpec, steps int) (m *Model, before, after, grads []float32) {
		net := newTestNet(t, ctx, spec, batch, 3)
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		if before, err = net.Params(); err != nil {
			t.Fatal(err)
		}
		for s := 1; s <= steps; s++ {
			feed := Feed{Counter: uint32(s), Seed: 9, LR: AdamLR(1e-2, uint32(s)), Indices: []int{s, s + 4, s + 8, s + 2}}
			if err := net.Step(set, ModeTrain, augment.Sampling{}, feed); err != nil {
				t.Fatal(err)
			}
			if s == 1 {
				if grads, err = net.Gradients(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if after, err = net.Params(); err != nil {
			t.Fatal(err)
		}
		return net.Model, before, after, grads
	}
	m, before, after, grads := run(frozenSpec(), 3)
	frozen := 0
	for _, p := range m.Params {
		same := true
		for i := p.Offset; i < p.Offset+p.Size(); i++ {
			same = same && math.Float32bits(before[i]) == math.Float32bits(after[i])
		}
		if p.Frozen {
			frozen += p.Size()
		}
		if same != p.Frozen {
			t.Errorf("%s (frozen %v, trainable %v): unchanged %v after 3 steps", p.Name, p.Frozen, p.Trainable, same)
		}
	}
	if want := m.CountParams() - m.CountTrainable() - frozen; want != 2*4+2*8 {
		t.Errorf("%d moving statistics, want 24", want)
	}
	if !strings.Contains(m.Summary(), "Non-trainable params: "+numfmt.Commas(frozen+24)) {
		t.Errorf("the summary does not count the %d frozen parameters as non-trainable:\n%s", frozen, m.Summary())
	}

	free, _, _, freeGrads := run(tinySpec(), 1)
	byName := map[string]*Param{}
	for _, p := range free.Params {
		byName[p.Name] = p
	}
	for _, p := range m.Params {
		if !p.Trainable {
			continue
		}
		q := byName[p.Name]
		for i := range p.Size() {
			if a, b := grads[p.Offset+i], freeGrads[q.Offset+i]; math.Float32bits(a) != math.Float32bits(b) {
				t.Fatalf("%s[%d]: gradient %g, the unfrozen model's %g", p.Name, i, a, b)
			}
		}
	}
}
