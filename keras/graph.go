package keras

import (
	"encoding/json"
	"fmt"
)

// graph is a model's layers in order; for a Keras graph (Model or
// Functional), each layer's inputs by the names of the layers whose
// outputs it reads, and the name of the layer whose output is the
// model's. A Sequential model has no inputs: each layer reads the one
// before.
type graph struct {
	name   string
	layers []object
	inputs [][]string
	output string
}

// sequentialLayers reads a Sequential model's config: the list of layers
// (Keras 2.0 to 2.2.2), or an object with its name and layers.
func sequentialLayers(config json.RawMessage) (graph, error) {
	var g graph
	if err := json.Unmarshal(config, &g.layers); err == nil {
		return g, nil
	}
	var cfg struct {
		Name   string   `json:"name"`
		Layers []object `json:"layers"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return g, fmt.Errorf("a Sequential model whose config is neither a list of layers nor an object with them: %w", err)
	}
	g.name, g.layers = cfg.Name, cfg.Layers
	return g, nil
}

// graphLayers reads a graph's config: its layers, each with the inbound
// node of its one call (Keras 2: a list of [layer, node, tensor, kwargs];
// Keras 3: call arguments whose __keras_tensor__ objects name their
// keras_history [layer, node, tensor]), and its one input and output.
func graphLayers(config json.RawMessage) (graph, error) {
	var cfg struct {
		Name         string          `json:"name"`
		Layers       []object        `json:"layers"`
		InputLayers  json.RawMessage `json:"input_layers"`
		OutputLayers json.RawMessage `json:"output_layers"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return graph{}, fmt.Errorf("a graph model whose config has no layers: %w", err)
	}
	g := graph{name: cfg.Name, layers: cfg.Layers}
	ins, err := endpoints(cfg.InputLayers)
	if err != nil || len(ins) != 1 {
		return g, fmt.Errorf("input_layers %s: vkcnn reads models of one input", canonical(cfg.InputLayers))
	}
	outs, err := endpoints(cfg.OutputLayers)
	if err != nil || len(outs) != 1 {
		return g, fmt.Errorf("output_layers %s: vkcnn reads models of one output", canonical(cfg.OutputLayers))
	}
	g.output = outs[0]
	for _, l := range cfg.Layers {
		if len(l.InboundNodes) > 1 {
			return g, refuse(l.Name, l.ClassName, "called %d times: vkcnn's layers are each called once (no shared layers)", len(l.InboundNodes))
		}
		var inputs []string
		if len(l.InboundNodes) == 1 {
			if inputs, err = inboundLayers(l.InboundNodes[0]); err != nil {
				return g, refuse(l.Name, l.ClassName, "inbound_nodes: %v", err)
			}
		}
		g.inputs = append(g.inputs, inputs)
	}
	return g, nil
}

// endpoints reads input_layers or output_layers: [[layer, node, tensor],
// ...], or Keras 3's [layer, node, tensor] for one, and returns the
// layers, each of its first output.
func endpoints(v json.RawMessage) ([]string, error) {
	var many [][]json.RawMessage
	if err := json.Unmarshal(v, &many); err != nil {
		var one []json.RawMessage
		if err := json.Unmarshal(v, &one); err != nil {
			return nil, err
		}
		many = [][]json.RawMessage{one}
	}
	var names []string
	for _, e := range many {
		name, err := history(e)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// history reads [layer, node, tensor] (and Keras 2's kwargs after them):
// the first output of a layer's one call.
func history(e []json.RawMessage) (string, error) {
	var name string
	var node, tensor int
	if len(e) < 3 || json.Unmarshal(e[0], &name) != nil || json.Unmarshal(e[1], &node) != nil || json.Unmarshal(e[2], &tensor) != nil {
		return "", fmt.Errorf("%s is not [layer, node, tensor]", canonical(mustMarshal(e)))
	}
	if node != 0 || tensor != 0 {
		return "", fmt.Errorf("%s: vkcnn reads the first output of each layer's one call", canonical(mustMarshal(e)))
	}
	return name, nil
}

// inboundLayers reads a layer's inbound node: the layers whose outputs
// its call reads, in order.
func inboundLayers(node json.RawMessage) ([]string, error) {
	var keras2 [][]json.RawMessage
	if err := json.Unmarshal(node, &keras2); err == nil {
		var names []string
		for _, e := range keras2 {
			name, err := history(e)
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		return names, nil
	}
	var call struct {
		Args []any `json:"args"`
	}
	if err := json.Unmarshal(node, &call); err != nil {
		return nil, fmt.Errorf("%s is neither Keras 2's list of inputs nor Keras 3's call", canonical(node))
	}
	var names []string
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				if err := walk(x); err != nil {
					return err
				}
			}
		case map[string]any:
			if v["class_name"] != "__keras_tensor__" {
				return fmt.Errorf("an argument %s that is no tensor", canonical(mustMarshal(v)))
			}
			cfg, _ := v["config"].(map[string]any)
			var e []json.RawMessage
			if err := json.Unmarshal(mustMarshal(cfg["keras_history"]), &e); err != nil {
				return fmt.Errorf("a tensor without keras_history: %s", canonical(mustMarshal(v)))
			}
			name, err := history(e)
			if err != nil {
				return err
			}
			names = append(names, name)
		default:
			return fmt.Errorf("an argument %s that is no tensor", canonical(mustMarshal(v)))
		}
		return nil
	}
	if err := walk(call.Args); err != nil {
		return nil, err
	}
	return names, nil
}
