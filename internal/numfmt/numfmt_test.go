package numfmt

import "testing"

func TestCommas(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 35445522: "35,445,522", -1234: "-1,234", -123: "-123"} {
		if got := Commas(n); got != want {
			t.Errorf("Commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for b, want := range map[int64]string{0: "0 bytes", 960: "960 bytes", 2048: "2.0 KiB", 1<<20 - 1: "1024.0 KiB", 640 << 20: "640 MiB", 1<<30 - 1: "1023 MiB", 1 << 30: "1.0 GiB", 85_520_000_000: "79.6 GiB"} {
		if got := Bytes(b); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", b, got, want)
		}
	}
}
