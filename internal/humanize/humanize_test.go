package humanize

import (
	"math"
	"testing"
)

func TestCommas(t *testing.T) {
	for n, want := range map[int]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", 60000: "60,000", 1199882: "1,199,882",
		-999: "-999", -1000: "-1,000", -123456: "-123,456", math.MinInt64: "-9,223,372,036,854,775,808",
	} {
		if got := Commas(n); got != want {
			t.Errorf("Commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for b, want := range map[uint64]string{
		0: "0 MiB", 1<<20 - 1: "0 MiB", 128 << 20: "128 MiB", 1<<30 - 1: "1023 MiB", 1 << 30: "1.0 GiB", 80 << 30: "80.0 GiB", 3 << 29: "1.5 GiB",
	} {
		if got := Bytes(b); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", b, got, want)
		}
	}
}
