package vk

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/shaders"

	vulkan "github.com/vulkan-go/vulkan"
)

func fillKernel(t *testing.T, ctx *Context) *Kernel {
	t.Helper()
	code, err := shaders.SPIRV("fill")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ctx.Kernel(KernelSpec{Name: "fill", Code: code, Bindings: []Access{Write}, PushWords: 2, Spec: []uint32{64}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecordingBarriersAndReruns(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	k := fillKernel(t, ctx)
	a, err := ctx.NewBuffer(4 * 100)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ctx.NewBuffer(4 * 100)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	push := func(v float32) []uint32 { return []uint32{100, math.Float32bits(v)} }
	// a, b: independent, no barrier; a again: write after write, barrier.
	for _, d := range []struct {
		buf *Buffer
		v   float32
	}{{a, 1}, {b, 2}, {a, 3}} {
		if err := rec.Dispatch(k, [3]uint32{2, 1, 1}, push(d.v), Whole(d.buf)); err != nil {
			t.Fatal(err)
		}
	}
	if rec.Dispatches() != 3 || rec.Barriers() != 1 {
		t.Fatalf("%d dispatches, %d barriers; want 3 and 1", rec.Dispatches(), rec.Barriers())
	}
	for run := 0; run < 2; run++ {
		if err := rec.Run(); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]float32, 100)
	if err := a.ReadFloat32(0, got); err != nil {
		t.Fatal(err)
	}
	if got[0] != 3 || got[99] != 3 {
		t.Fatalf("a = %g..%g, want 3", got[0], got[99])
	}
	if err := rec.Dispatch(k, [3]uint32{1, 1, 1}, push(0), Whole(a)); err == nil {
		t.Fatal("dispatch into an ended recording was accepted")
	}
}

func TestDispatchChecksArguments(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	k := fillKernel(t, ctx)
	buf, err := ctx.NewBuffer(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	maxX := ctx.Info.MaxWorkgroupCount[0]
	cases := []struct {
		name   string
		groups [3]uint32
		push   []uint32
		args   []Range
		want   string
	}{
		{"bindings", [3]uint32{1, 1, 1}, []uint32{1, 0}, []Range{Whole(buf), Whole(buf)}, "2 buffers bound"},
		{"push", [3]uint32{1, 1, 1}, []uint32{1}, []Range{Whole(buf)}, "push-constant words"},
		{"grid", [3]uint32{maxX + 1, 1, 1}, []uint32{1, 0}, []Range{Whole(buf)}, "maximum workgroup count"},
		{"range", [3]uint32{1, 1, 1}, []uint32{1, 0}, []Range{{Buf: buf, Offset: 0, Size: 8192}}, "outside"},
		{"nil", [3]uint32{1, 1, 1}, []uint32{1, 0}, []Range{{}}, "no open buffer"},
	}
	if align := ctx.Info.StorageOffsetAlignment; align > 1 {
		cases = append(cases, struct {
			name   string
			groups [3]uint32
			push   []uint32
			args   []Range
			want   string
		}{"alignment", [3]uint32{1, 1, 1}, []uint32{1, 0}, []Range{{Buf: buf, Offset: int64(align) / 2, Size: 64}}, "alignment"})
	}
	for _, c := range cases {
		err := rec.Dispatch(k, c.groups, c.push, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestTimestamps(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	if !ctx.Info.Timestamps {
		t.Skip("no timestamps on this device")
	}
	k := fillKernel(t, ctx)
	buf, err := ctx.NewBuffer(4 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	t0, _ := rec.Timestamp()
	if err := rec.Dispatch(k, [3]uint32{1 << 14, 1, 1}, []uint32{1 << 20, 0}, Whole(buf)); err != nil {
		t.Fatal(err)
	}
	t1, _ := rec.Timestamp()
	if err := rec.Run(); err != nil {
		t.Fatal(err)
	}
	d, err := rec.Elapsed(t0, t1)
	if err != nil || d <= 0 {
		t.Fatalf("elapsed %v, %v", d, err)
	}
	if _, err := rec.Elapsed(t1, t0); err == nil {
		t.Fatal("reversed timestamps accepted")
	}
}

func TestKernelRejectsBadCode(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	if _, err := ctx.Kernel(KernelSpec{Name: "junk", Code: []byte{1, 2, 3, 4}}); err == nil {
		t.Fatal("junk accepted as SPIR-V")
	}
}

// Synchronization validation sees a barrier that is missing: the test
// makes the recording forget a write, so that a read of the buffer follows
// without one.
func TestSyncValidationFindsAMissingBarrier(t *testing.T) {
	if !ValidationAvailable() {
		t.Skip("no validation layer installed")
	}
	for _, forget := range []bool{false, true} {
		ctx := open(t, Options{SyncValidation: true})
		fill := fillKernel(t, ctx)
		code, err := shaders.SPIRV("copy")
		if err != nil {
			t.Fatal(err)
		}
		cp, err := ctx.Kernel(KernelSpec{Name: "copy", Code: code, Bindings: []Access{Read, Write}, PushWords: 1, Spec: []uint32{64}})
		if err != nil {
			t.Fatal(err)
		}
		a, err := ctx.NewBuffer(4 * 100)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ctx.NewBuffer(4 * 100)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := ctx.NewRecording()
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Dispatch(fill, [3]uint32{2, 1, 1}, []uint32{100, math.Float32bits(1)}, Whole(a)); err != nil {
			t.Fatal(err)
		}
		if forget {
			clear(rec.written)
		}
		if err := rec.Dispatch(cp, [3]uint32{1, 1, 1}, []uint32{100}, Whole(a), Whole(b)); err != nil {
			t.Fatal(err)
		}
		if err := rec.Run(); err != nil {
			t.Fatal(err)
		}
		err = ctx.Check()
		if forget && (err == nil || !strings.Contains(err.Error(), "SYNC-HAZARD-READ-AFTER-WRITE")) {
			t.Errorf("without the barrier: %v, want a read-after-write hazard", err)
		}
		if !forget && err != nil {
			t.Errorf("with the barrier: %v", err)
		}
		rec.Close()
		a.Close()
		b.Close()
		closeClean(t, ctx)
	}
}

func TestTimestampTicksMaskAndWrap(t *testing.T) {
	for _, tc := range []struct {
		from, to uint64
		bits     uint32
		want     uint64
	}{
		{100, 350, 64, 250},
		// garbage above the valid bits is ignored
		{0xabc0_0000_0000_0010, 0x1230_0000_0000_0030, 36, 0x20},
		// a 36-bit counter that wrapped between the two
		{1<<36 - 5, 10, 36, 15},
		{^uint64(0) - 1, 3, 64, 5},
	} {
		if got := timestampTicks(tc.from, tc.to, tc.bits); got != tc.want {
			t.Errorf("timestampTicks(%#x, %#x, %d) = %d, want %d", tc.from, tc.to, tc.bits, got, tc.want)
		}
	}
}

// TestWatchdogTakesALongSubmissionAsHung runs a submission longer than a
// watchdog of a millisecond: it is reported as a hang, the context takes
// no more work, and closing it waits on nothing.
func TestWatchdogTakesALongSubmissionAsHung(t *testing.T) {
	ctx := open(t, Options{Watchdog: time.Millisecond})
	k := fillKernel(t, ctx)
	const n = 4 << 20
	buf, err := ctx.NewBuffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	grid, err := ctx.Grid1D(n / 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 { // each waits for the one before: a long submission
		if err := rec.Dispatch(k, grid, []uint32{n, math.Float32bits(float32(i))}, Whole(buf)); err != nil {
			t.Fatal(err)
		}
	}
	err = rec.Run()
	var hang *HangError
	if !errors.As(err, &hang) || !errors.Is(err, ErrHang) || hang.Waited != time.Millisecond || !errors.Is(ctx.fault, ErrHang) {
		t.Fatalf("run: %v, want a hang after 1ms", err)
	}
	if err := rec.Run(); !errors.Is(err, ErrHang) {
		t.Errorf("a second run on the hung device: %v", err)
	}
	start := time.Now()
	rec.Close()
	buf.Close()
	if err := ctx.Close(); err != nil || time.Since(start) > 100*time.Millisecond {
		t.Errorf("close after the hang: %v after %s", err, time.Since(start))
	}
}

// TestStartReturnsWhileTheDeviceRuns starts a long submission: Start
// returns before its fence signals, another submission made meanwhile
// waits for it first, and Wait then returns with its writes done.
func TestStartReturnsWhileTheDeviceRuns(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	k := fillKernel(t, ctx)
	const n = 4 << 20
	buf, err := ctx.NewBuffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	long, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	grid, err := ctx.Grid1D(n / 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // each waits for the one before
		if err := long.Dispatch(k, grid, []uint32{n, math.Float32bits(float32(i))}, Whole(buf)); err != nil {
			t.Fatal(err)
		}
	}
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	if r := vulkan.GetFenceStatus(ctx.device, asHandle[vulkan.Fence](ctx.fence)); ctx.inFlight == "" || r != vulkan.NotReady {
		t.Errorf("after Start: in flight %q, the fence's status %d; want the work under way (Start waited)", ctx.inFlight, r)
	}
	// A write through staging is a submission: it waits for the long one.
	other, err := ctx.NewBuffer(4)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := errors.Join(other.WriteFloat32(0, []float32{7}), long.Wait(), long.Wait()); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n)
	if err := buf.ReadFloat32(0, got); err != nil {
		t.Fatal(err)
	}
	if got[0] != 19 || got[n-1] != 19 {
		t.Fatalf("buf = %g..%g after Wait, want 19", got[0], got[n-1])
	}
}
