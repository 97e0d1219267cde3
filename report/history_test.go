package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHistoryRoundTrip(t *testing.T) {
	in := []Epoch{
		{1, math.Nextafter(0.3, 1), 1.0 / 3, 0.07654321987654321, 0.9921, 12.5},
		{2, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324},
		{10, math.MaxFloat64, 1, 0, 0.5, 3600},
	}
	path := filepath.Join(t.TempDir(), "history.csv")
	if err := WriteHistory(path, in); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantStart := "epoch,loss,acc,val_loss,val_acc,seconds\n1,0.30000000000000004,0.3333333333333333,0.07654321987654321,0.9921,12.5\n2,NaN,+Inf,-Inf,-0,5e-324\n"
	if !strings.HasPrefix(string(text), wantStart) {
		t.Errorf("file starts\n%s\nwant\n%s", text, wantStart)
	}
	out, err := ReadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d epochs, wrote %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Epoch != b.Epoch {
			t.Errorf("row %d: epoch %d, want %d", i, b.Epoch, a.Epoch)
		}
		for j, pair := range [][2]float64{{a.Loss, b.Loss}, {a.Acc, b.Acc}, {a.ValLoss, b.ValLoss}, {a.ValAcc, b.ValAcc}, {a.Seconds, b.Seconds}} {
			if math.Float64bits(pair[0]) != math.Float64bits(pair[1]) {
				t.Errorf("row %d field %d: %v, want %v (bit-exact)", i, j, pair[1], pair[0])
			}
		}
	}
}

func TestHistoryEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.csv")
	if err := WriteHistory(path, nil); err != nil {
		t.Fatal(err)
	}
	out, err := ReadHistory(path)
	if err != nil || len(out) != 0 {
		t.Errorf("ReadHistory = %v, %v; want no epochs, no error", out, err)
	}
}

func TestReadHistoryMalformed(t *testing.T) {
	const header = "epoch,loss,acc,val_loss,val_acc,seconds\n"
	const row = "1,0.5,0.9,0.4,0.95,10\n"
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "empty file, want the header line"},
		{"wrong header", "epoch,loss,accuracy,val_loss,val_acc,seconds\n", `line 1: header ["epoch" "loss" "accuracy" "val_loss" "val_acc" "seconds"], want`},
		{"short header", "epoch,loss\n", "line 1: header"},
		{"too few fields", header + row + "2,0.4,0.9\n", "line 3: 3 fields, want 6"},
		{"too many fields", header + "1,0.5,0.9,0.4,0.95,10,7\n", "line 2: 7 fields, want 6"},
		{"not a number", header + row + "2,0.4,high,0.3,0.96,11\n", `line 3: acc "high" is not a number`},
		{"empty field", header + "1,0.5,0.9,0.4,,10\n", `line 2: val_acc "" is not a number`},
		{"fractional epoch", header + "1.5,0.5,0.9,0.4,0.95,10\n", `line 2: epoch "1.5" is not an integer`},
		{"out of range", header + "1,1e999,0.9,0.4,0.95,10\n", `line 2: loss "1e999" is not a number`},
		{"bad quote", header + "1,\"0.5,0.9,0.4,0.95,10\n", "extraneous or missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.csv")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			epochs, err := ReadHistory(path)
			if err == nil || !strings.HasPrefix(err.Error(), "read history "+path+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s and contain %q", err, path, tc.want)
			}
			if epochs != nil {
				t.Errorf("returned %v with the error", epochs)
			}
		})
	}
}

func TestHistoryFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "history.csv")
	if err := WriteHistory(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("WriteHistory into a missing directory: err = %v", err)
	}
	if _, err := ReadHistory(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadHistory of a missing file: err = %v", err)
	}
}
