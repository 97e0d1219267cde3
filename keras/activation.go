package keras

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/nn"
)

// kerasActivations are Keras' activation names as model.json names them.
// hard_sigmoid is Keras 2's, tf.keras' and TensorFlow.js's clip(0.2x +
// 0.5, 0, 1), which Keras 3 replaced (see reader.activation).
var kerasActivations = map[string]string{
	"linear": "linear", "softmax": "softmax", "relu": "relu", "relu6": "relu6", "elu": "elu", "selu": "selu",
	"sigmoid": "sigmoid", "hard_sigmoid": "hard_sigmoid", "tanh": "tanh", "softplus": "softplus", "softsign": "softsign",
	"swish": "swish", "silu": "swish",
	"gelu":     "gelu",      // exact (erf) in Keras, tf.keras and TensorFlow.js
	"gelu_new": "gelu_tanh", // TensorFlow.js's tanh approximation
}

// activation reads a Keras activation name as model.json's activation
// and alpha, in the file's dialect: Keras 3's hard_sigmoid is
// relu6(x + 3) / 6, and its leaky_relu function (which Keras 2 lacks)
// has the slope 0.2.
func (r *reader) activation(v json.RawMessage) (string, *float64, error) {
	var name string
	if err := json.Unmarshal(v, &name); err != nil {
		return "", nil, fmt.Errorf("activation %s: want a name", canonical(v))
	}
	switch {
	case r.keras3 && name == "hard_sigmoid":
		return "hard_sigmoid_keras3", nil, nil
	case r.keras3 && name == "leaky_relu":
		slope := 0.2
		return "leaky_relu", &slope, nil
	}
	if read, ok := kerasActivations[name]; ok {
		return read, nil, nil
	}
	names := slices.DeleteFunc(slices.Sorted(maps.Keys(kerasActivations)), func(n string) bool { return n == "softmax" })
	return "", nil, fmt.Errorf("activation %q: vkcnn reads %s, Keras 3's leaky_relu, and softmax on the last Dense layer", name, strings.Join(names, ", "))
}

// kindClass is the Keras class whose kind (nn.KerasClassOf) reads a
// layer of the class: its own, or Activation's for the activation layers
// model.json writes as an activation (ReLU capped at 6, ELU), or ReLU's
// for Activation('relu'), which trains as the relu layer always has. ""
// is no layer: an Activation('linear'), or an Activation('softmax') that
// comes back in ls for the model to fuse. Keras 3's LeakyReLU names its
// slope negative_slope, Keras 2's and TensorFlow.js's alpha; each
// defaults to 0.3, which model.json wants stated.
func (r *reader) kindClass(class string, cfg map[string]json.RawMessage, done map[string]bool, ls *nn.LayerSpec) (string, error) {
	switch class {
	case "Activation":
		done["activation"] = true
		name, alpha, err := r.activation(cfg["activation"])
		if err != nil {
			return "", err
		}
		switch name {
		case "linear":
			return "", unread(cfg, done)
		case "softmax":
			ls.Activation = name
			return "", unread(cfg, done)
		case "relu":
			return "ReLU", nil
		}
		ls.Activation, ls.Alpha = name, alpha
	case "ReLU":
		setting := func(key, unset string) string {
			done[key] = true
			if v, ok := cfg[key]; ok {
				return canonical(v)
			}
			return unset
		}
		maxValue, slope, threshold := setting("max_value", "null"), setting("negative_slope", "0"), setting("threshold", "0")
		if slope != "0" || threshold != "0" || (maxValue != "null" && maxValue != "6") {
			return "", fmt.Errorf("max_value %s, negative_slope %s, threshold %s: vkcnn reads ReLU as relu (max_value null, negative_slope 0, threshold 0) or relu6 (max_value 6)", maxValue, slope, threshold)
		}
		if maxValue == "6" {
			ls.Activation = "relu6"
			return "Activation", nil
		}
	case "ELU":
		ls.Activation = "elu" // its alpha is Activation's
		return "Activation", nil
	case "LeakyReLU":
		if v, ok := cfg["negative_slope"]; ok && cfg["alpha"] == nil {
			done["negative_slope"] = true
			cfg["alpha"] = v
		}
		if _, ok := cfg["alpha"]; !ok {
			cfg["alpha"] = json.RawMessage("0.3")
		}
	}
	return class, nil
}
