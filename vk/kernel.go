package vk

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"time"

	vulkan "github.com/vulkan-go/vulkan"
)

// Access says how a shader uses a binding; recordings derive barriers
// from it.
type Access int

const (
	Read Access = iota
	Write
	ReadWrite
)

func (a Access) writes() bool { return a != Read }

// KernelSpec declares a compute shader's interface in one place: its
// storage-buffer bindings (set 0, bindings 0..n-1), push-constant size and
// the values of its specialization constants (ids 0..n-1).
type KernelSpec struct {
	Name      string // shader name, for errors and the cache key
	Code      []byte // SPIR-V
	Bindings  []Access
	PushWords int
	Spec      []uint32
	// Subgroup, where not 0, is the subgroup size the shader's results
	// depend on (subgroup operations, cooperative matrices): the pipeline
	// requires it, with full subgroups of Workgroup invocations a
	// workgroup (DeviceInfo.RequireSubgroup).
	Subgroup, Workgroup uint32
}

func (s KernelSpec) key() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if s.Subgroup != 0 {
		fmt.Fprintf(&b, "/%d", s.Subgroup)
	}
	for _, v := range s.Spec {
		fmt.Fprintf(&b, ",%d", v)
	}
	return b.String()
}

// Kernel is a compute pipeline with its layouts. The context owns it.
type Kernel struct {
	spec           KernelSpec
	ctx            *Context
	module         uint64 // VkShaderModule
	setLayout      uint64 // VkDescriptorSetLayout
	pipelineLayout uint64 // VkPipelineLayout
	pipeline       uint64 // VkPipeline
}

// Name is the kernel's shader name.
func (k *Kernel) Name() string { return k.spec.Name }

// Kernel returns the pipeline for spec, building it on first use.
func (c *Context) Kernel(spec KernelSpec) (*Kernel, error) {
	key := spec.key()
	if k, ok := c.kernels[key]; ok {
		return k, nil
	}
	if spec.Subgroup != 0 {
		if err := c.Info.RequireSubgroup(spec.Subgroup, spec.Workgroup); err != nil {
			return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
		}
	}
	if 4*spec.PushWords > int(c.Info.MaxPushConstantsBytes) {
		return nil, fmt.Errorf("kernel %s: %d bytes of push constants exceed the device's %d", spec.Name, 4*spec.PushWords, c.Info.MaxPushConstantsBytes)
	}
	k := &Kernel{spec: spec, ctx: c}
	if err := k.build(); err != nil {
		k.destroy()
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	c.kernels[key] = k
	return k, nil
}

func (k *Kernel) build() error {
	c := k.ctx
	if len(k.spec.Code) == 0 || len(k.spec.Code)%4 != 0 || binary.LittleEndian.Uint32(k.spec.Code) != 0x07230203 {
		return fmt.Errorf("not SPIR-V (%d bytes)", len(k.spec.Code))
	}
	words := make([]uint32, len(k.spec.Code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(k.spec.Code[4*i:])
	}
	moduleInfo := &vulkan.ShaderModuleCreateInfo{
		SType:    vulkan.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(len(k.spec.Code)),
		PCode:    words,
	}
	var module vulkan.ShaderModule
	r := vulkan.CreateShaderModule(c.device, moduleInfo, nil, &module)
	moduleInfo.Free()
	runtime.KeepAlive(words)
	if err := check("vkCreateShaderModule", r); err != nil {
		return err
	}
	k.module = handleOf(module)

	bindings := make([]vulkan.DescriptorSetLayoutBinding, len(k.spec.Bindings))
	for i := range bindings {
		bindings[i] = vulkan.DescriptorSetLayoutBinding{
			Binding:         uint32(i),
			DescriptorType:  vulkan.DescriptorTypeStorageBuffer,
			DescriptorCount: 1,
			StageFlags:      vulkan.ShaderStageFlags(vulkan.ShaderStageComputeBit),
		}
	}
	setInfo := &vulkan.DescriptorSetLayoutCreateInfo{
		SType:        vulkan.StructureTypeDescriptorSetLayoutCreateInfo,
		BindingCount: uint32(len(bindings)),
		PBindings:    bindings,
	}
	var setLayout vulkan.DescriptorSetLayout
	r = vulkan.CreateDescriptorSetLayout(c.device, setInfo, nil, &setLayout)
	setInfo.Free()
	if err := check("vkCreateDescriptorSetLayout", r); err != nil {
		return err
	}
	k.setLayout = handleOf(setLayout)

	layoutInfo := &vulkan.PipelineLayoutCreateInfo{
		SType:          vulkan.StructureTypePipelineLayoutCreateInfo,
		SetLayoutCount: 1,
		PSetLayouts:    []vulkan.DescriptorSetLayout{setLayout},
	}
	if k.spec.PushWords > 0 {
		layoutInfo.PushConstantRangeCount = 1
		layoutInfo.PPushConstantRanges = []vulkan.PushConstantRange{{
			StageFlags: vulkan.ShaderStageFlags(vulkan.ShaderStageComputeBit),
			Size:       uint32(4 * k.spec.PushWords),
		}}
	}
	var pipelineLayout vulkan.PipelineLayout
	r = vulkan.CreatePipelineLayout(c.device, layoutInfo, nil, &pipelineLayout)
	layoutInfo.Free()
	if err := check("vkCreatePipelineLayout", r); err != nil {
		return err
	}
	k.pipelineLayout = handleOf(pipelineLayout)

	start := time.Now()
	pipeline, err := c.createComputePipeline(c.pipelineCache, c.capture, k.module, k.pipelineLayout, k.spec.Spec, k.spec.Subgroup)
	if err != nil {
		return err
	}
	c.pipelines++
	c.pipelineTime += time.Since(start)
	k.pipeline = pipeline
	return nil
}

func (k *Kernel) destroy() {
	d := k.ctx.device
	if k.pipeline != 0 {
		vulkan.DestroyPipeline(d, asHandle[vulkan.Pipeline](k.pipeline), nil)
	}
	if k.pipelineLayout != 0 {
		vulkan.DestroyPipelineLayout(d, asHandle[vulkan.PipelineLayout](k.pipelineLayout), nil)
	}
	if k.setLayout != 0 {
		vulkan.DestroyDescriptorSetLayout(d, asHandle[vulkan.DescriptorSetLayout](k.setLayout), nil)
	}
	if k.module != 0 {
		vulkan.DestroyShaderModule(d, asHandle[vulkan.ShaderModule](k.module), nil)
	}
	k.pipeline, k.pipelineLayout, k.setLayout, k.module = 0, 0, 0, 0
}
