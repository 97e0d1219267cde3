// Package humanize writes numbers for people: counts with thousands
// separators, memory sizes in MiB or GiB.
package humanize

import (
	"fmt"
	"strconv"
)

// Commas writes n with a comma between thousands, as Keras' summaries do:
// 1,199,882.
func Commas(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

// Bytes writes a memory size: whole MiB below a GiB, else GiB to a tenth.
func Bytes(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", b>>20)
}
