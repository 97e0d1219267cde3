package kernels

import "github.com/vkcnn/vkcnn/vk"

// ChosenShader is the shader and specialization constants p runs with
// under ch on the device: what golden_test.go, an external test (it reads
// the presets' products from nn, which imports kernels), records.
func ChosenShader(info vk.DeviceInfo, p Product, ch Choice) (name string, spec []uint32) {
	s := p.With(ch).shader(info, ch.Split > 1)
	return s.name, s.spec
}

// RecordedDevices are the device descriptions of defaults_test.go, by
// name.
var RecordedDevices = []struct {
	Name string
	Info vk.DeviceInfo
}{{"H100", h100bf16}, {"navi31", navi31}, {"lavapipe", lavapipe}}
