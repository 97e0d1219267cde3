package vk

import (
	"regexp"
	"strings"
)

// ISACounts are counts over an AMD shader's disassembly: how much of its
// code is the arithmetic a GEMM exists for, and how it loads memory.
type ISACounts struct {
	// Instructions is the number of instruction lines (labels, comments
	// and blank lines aside).
	Instructions int
	// FMA is the lines with a floating-point multiply-add: v_fma*,
	// v_fmac*, v_pk_fma* and either half of a v_dual_fmac pair (RDNA), and
	// GCN's unfused v_mac_f*/v_mad_f*, which it uses in their place.
	FMA int
	// WideLoads is the 128-bit vector loads from global memory or a
	// buffer: the loads a bandwidth-bound kernel wants.
	WideLoads int
	// Matrix is the matrix (tensor core) instructions: RDNA3's v_wmma*
	// and v_swmmac*, CDNA's v_mfma*.
	Matrix int
}

var (
	isaMnemonic = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	fmaOp       = regexp.MustCompile(`^(v_fma|v_fmac|v_pk_fma|v_mac_f|v_mad_f|v_mad_legacy_f|v_dual_fmac)`)
	dualFMA     = regexp.MustCompile(`::\s*v_dual_fmac`)
	wideLoad    = regexp.MustCompile(`^(global|buffer|flat)_load_(b128|dwordx4)$`)
	matrixOp    = regexp.MustCompile(`^(v_wmma|v_swmmac|v_mfma)`)
)

// CountISA counts the instructions of a disassembly in the form RADV
// reports it ("Assembly"): a tab-indented mnemonic and operands a line,
// the encoding after ';', labels at the left margin.
func CountISA(text string) ISACounts {
	var n ISACounts
	for _, line := range strings.Split(text, "\n") {
		if line == "" || (line[0] != '\t' && line[0] != ' ') {
			continue
		}
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || !isaMnemonic.MatchString(fields[0]) {
			continue
		}
		n.Instructions++
		if fmaOp.MatchString(fields[0]) || dualFMA.MatchString(line) {
			n.FMA++
		}
		if wideLoad.MatchString(fields[0]) {
			n.WideLoads++
		}
		if matrixOp.MatchString(fields[0]) {
			n.Matrix++
		}
	}
	return n
}
