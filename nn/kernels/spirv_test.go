package kernels

import (
	"encoding/binary"
	"fmt"
)

// spirvModule is what a SPIR-V module declares to the pipeline that runs
// it, read from its decorations and types: the descriptors, the
// push-constant block and the specialization constants.
type spirvModule struct {
	descriptors []descriptor
	pushBytes   int             // the push-constant block's size; 0 without one
	specIDs     map[uint32]bool // SpecId -> whether the constant is a bool
}

// descriptor is one resource variable of the module.
type descriptor struct {
	set, binding uint32
	storage      bool // a storage buffer (not a uniform buffer, image or sampler)
	// The variable's access: false where every member is decorated
	// NonReadable (NonWritable) or the variable itself is.
	readable, writable bool
}

// SPIR-V's numbers for the instructions, decorations and storage classes
// parseSPIRV reads (the SPIR-V specification, sections 3.20-3.32).
const (
	spirvMagic = 0x07230203

	opTypeBool          = 20
	opTypeInt           = 21
	opTypeFloat         = 22
	opTypeVector        = 23
	opTypeArray         = 28
	opTypeRuntimeArray  = 29
	opTypeStruct        = 30
	opTypePointer       = 32
	opConstant          = 43
	opSpecConstantTrue  = 48
	opSpecConstantFalse = 49
	opVariable          = 59
	opDecorate          = 71
	opMemberDecorate    = 72

	decSpecID        = 1
	decBufferBlock   = 3
	decArrayStride   = 6
	decNonWritable   = 24
	decNonReadable   = 25
	decBinding       = 33
	decDescriptorSet = 34
	decOffset        = 35

	storageUniformConstant = 0
	storageUniform         = 2
	storagePushConstant    = 9
	storageBuffer          = 12
)

// spirvType is a type instruction: its opcode and operands after the
// result id.
type spirvType struct {
	op       uint32
	operands []uint32
}

// parseSPIRV reads a module's interface from its words: a five-word
// header, then instructions, each a word of (word count << 16 | opcode)
// followed by its operands.
func parseSPIRV(code []byte) (spirvModule, error) {
	if len(code)%4 != 0 || len(code) < 20 || binary.LittleEndian.Uint32(code) != spirvMagic {
		return spirvModule{}, fmt.Errorf("not SPIR-V (%d bytes)", len(code))
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	types := map[uint32]spirvType{}
	constants := map[uint32]uint32{} // the values of 32-bit OpConstants, for array lengths
	decorations := map[uint32]map[uint32][]uint32{}
	memberDecorations := map[uint32]map[uint32]map[uint32]uint32{} // struct -> member -> decoration -> first literal
	boolSpec := map[uint32]bool{}
	type variable struct{ id, pointer, class uint32 }
	var variables []variable
	for i := 5; i < len(words); {
		count, op := int(words[i]>>16), words[i]&0xffff
		if count == 0 || i+count > len(words) {
			return spirvModule{}, fmt.Errorf("instruction at word %d: length %d overruns the module", i, count)
		}
		args := words[i+1 : i+count]
		i += count
		switch op {
		case opTypeBool, opTypeInt, opTypeFloat, opTypeVector, opTypeArray, opTypeRuntimeArray, opTypeStruct, opTypePointer:
			if len(args) < 1 {
				return spirvModule{}, fmt.Errorf("type instruction %d without a result", op)
			}
			types[args[0]] = spirvType{op: op, operands: args[1:]}
		case opConstant:
			if len(args) == 3 {
				constants[args[1]] = args[2]
			}
		case opSpecConstantTrue, opSpecConstantFalse:
			if len(args) == 2 {
				boolSpec[args[1]] = true
			}
		case opVariable:
			if len(args) < 3 {
				return spirvModule{}, fmt.Errorf("OpVariable with %d operands", len(args))
			}
			variables = append(variables, variable{id: args[1], pointer: args[0], class: args[2]})
		case opDecorate:
			if len(args) < 2 {
				return spirvModule{}, fmt.Errorf("OpDecorate with %d operands", len(args))
			}
			if decorations[args[0]] == nil {
				decorations[args[0]] = map[uint32][]uint32{}
			}
			decorations[args[0]][args[1]] = args[2:]
		case opMemberDecorate:
			if len(args) < 3 {
				return spirvModule{}, fmt.Errorf("OpMemberDecorate with %d operands", len(args))
			}
			s, member := args[0], args[1]
			if memberDecorations[s] == nil {
				memberDecorations[s] = map[uint32]map[uint32]uint32{}
			}
			if memberDecorations[s][member] == nil {
				memberDecorations[s][member] = map[uint32]uint32{}
			}
			var literal uint32
			if len(args) > 3 {
				literal = args[3]
			}
			memberDecorations[s][member][args[2]] = literal
		}
	}

	m := spirvModule{specIDs: map[uint32]bool{}}
	for id, decs := range decorations {
		if specID, ok := decs[decSpecID]; ok && len(specID) == 1 {
			m.specIDs[specID[0]] = boolSpec[id]
		}
	}
	// pointee is the struct a variable's pointer type points to.
	pointee := func(v variable) (uint32, spirvType, error) {
		ptr, ok := types[v.pointer]
		if !ok || ptr.op != opTypePointer || len(ptr.operands) != 2 {
			return 0, spirvType{}, fmt.Errorf("variable %d: its type is not a pointer", v.id)
		}
		id := ptr.operands[1]
		t, ok := types[id]
		if !ok {
			return 0, spirvType{}, fmt.Errorf("variable %d: undeclared type %d", v.id, id)
		}
		return id, t, nil
	}
	// allMembers reports whether every member of struct s has decoration d.
	allMembers := func(s uint32, t spirvType, d uint32) bool {
		for member := range t.operands {
			if _, ok := memberDecorations[s][uint32(member)][d]; !ok {
				return false
			}
		}
		return len(t.operands) > 0
	}
	var size func(id uint32) (int, error)
	size = func(id uint32) (int, error) {
		t, ok := types[id]
		if !ok {
			return 0, fmt.Errorf("undeclared type %d", id)
		}
		switch t.op {
		case opTypeInt, opTypeFloat:
			return int(t.operands[0]) / 8, nil
		case opTypeVector:
			c, err := size(t.operands[0])
			return c * int(t.operands[1]), err
		case opTypeArray:
			n, ok := constants[t.operands[1]]
			stride := decorations[id][decArrayStride]
			if !ok || len(stride) != 1 {
				return 0, fmt.Errorf("array type %d: no constant length or stride", id)
			}
			return int(n) * int(stride[0]), nil
		case opTypeStruct:
			end := 0
			for member, mt := range t.operands {
				offset, ok := memberDecorations[id][uint32(member)][decOffset]
				if !ok {
					return 0, fmt.Errorf("struct %d: member %d has no offset", id, member)
				}
				s, err := size(mt)
				if err != nil {
					return 0, err
				}
				end = max(end, int(offset)+s)
			}
			return end, nil
		}
		return 0, fmt.Errorf("type %d: opcode %d has no size here", id, t.op)
	}
	for _, v := range variables {
		switch v.class {
		case storagePushConstant:
			if m.pushBytes > 0 {
				return spirvModule{}, fmt.Errorf("two push-constant blocks")
			}
			id, _, err := pointee(v)
			if err != nil {
				return spirvModule{}, err
			}
			if m.pushBytes, err = size(id); err != nil {
				return spirvModule{}, fmt.Errorf("push-constant block: %w", err)
			}
		case storageBuffer, storageUniform, storageUniformConstant:
			id, t, err := pointee(v)
			if err != nil {
				return spirvModule{}, err
			}
			decs := decorations[v.id]
			set, binding := decs[decDescriptorSet], decs[decBinding]
			if len(set) != 1 || len(binding) != 1 {
				return spirvModule{}, fmt.Errorf("variable %d: no descriptor set and binding", v.id)
			}
			_, bufferBlock := decorations[id][decBufferBlock]
			_, nonReadable := decs[decNonReadable]
			_, nonWritable := decs[decNonWritable]
			m.descriptors = append(m.descriptors, descriptor{
				set: set[0], binding: binding[0],
				storage:  t.op == opTypeStruct && (v.class == storageBuffer || v.class == storageUniform && bufferBlock),
				readable: !nonReadable && !allMembers(id, t, decNonReadable),
				writable: !nonWritable && !allMembers(id, t, decNonWritable),
			})
		}
	}
	return m, nil
}
