// Package numfmt writes numbers as vkcnn's messages and tables show them.
package numfmt

import "fmt"

// Commas writes n with thousands separators, as Keras' summary does:
// 35,445,522.
func Commas(n int) string {
	s := fmt.Sprint(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Bytes writes a size in bytes below 1 KiB, in KiB below 1 MiB, in MiB
// below 1 GiB, else in GiB: "960 bytes", "2.0 KiB", "640 MiB", "79.6 GiB".
func Bytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", b>>20)
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", b)
}

// Plural writes n with Commas and the noun, with an s unless n is 1.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Commas(n) + " " + noun + "s"
}
