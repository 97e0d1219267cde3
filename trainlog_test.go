package vkcnn

import (
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

func TestStepsLine(t *testing.T) {
	cfg := nn.TrainConfig{Epochs: 20, BatchSize: 32}
	cut, beyond := cfg, cfg
	cut.StepsPerEpoch, beyond.StepsPerEpoch = 1, 5000
	one, oneCut := cfg, cut
	one.Epochs, oneCut.Epochs = 1, 1
	cases := []struct {
		cfg    nn.TrainConfig
		resume *nn.TrainState
		want   string
	}{
		{cfg, nil, "20 epochs of 1,875 steps: 37,500 steps in all"},
		{cut, nil, "20 epochs of 1 step (--steps-per-epoch; a whole epoch is 1,875): 20 steps in all"},
		{beyond, nil, "20 epochs of 1,875 steps: 37,500 steps in all"},
		{one, nil, "1 epoch of 1,875 steps: 1,875 steps in all"},
		{oneCut, nil, "1 epoch of 1 step (--steps-per-epoch; a whole epoch is 1,875): 1 step in all"},
		{cfg, &nn.TrainState{Epoch: 3, Done: 5}, "20 epochs of 1,875 steps: 37,500 steps in all, 33,745 to go"},
	}
	for _, c := range cases {
		if got := stepsLine(c.cfg, 60000, c.resume); got != c.want {
			t.Errorf("%+v, resume %+v: %q, want %q", c.cfg, c.resume, got, c.want)
		}
	}
}
