package memory

import (
	"context"
	"testing"
	"unsafe"

	"github.com/vmbench/vmbench/internal/workload"
)

func TestLastLevelCacheFromFixture(t *testing.T) {
	if got := LastLevelCache("testdata"); got != 32<<20 {
		t.Errorf("LLC = %d, want 32MiB", got)
	}
	if got := LastLevelCache(t.TempDir()); got != 0 {
		t.Errorf("no cache info: %d", got)
	}
}

func TestDefaultSizeIsFourTimesLLCWithinBounds(t *testing.T) {
	p, errs := workload.Complete(Workload{SysRoot: "testdata"}, nil)
	if len(errs) > 0 || p["size"] != "128MiB" {
		t.Errorf("size = %q (%v), want 4 × 32MiB", p["size"], errs)
	}
	p, _ = workload.Complete(Workload{SysRoot: t.TempDir()}, nil)
	if p["size"] != "64MiB" {
		t.Errorf("size without cache info = %q, want the 64MiB floor", p["size"])
	}
}

func TestEveryOpMeasures(t *testing.T) {
	for _, op := range []string{"copy", "scale", "add", "triad"} {
		p, errs := workload.Complete(Workload{SysRoot: "testdata"}, map[string]string{"op": op, "size": "4MiB", "duration": "20ms", "threads": "2"})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		res, err := Workload{SysRoot: "testdata"}.Run(context.Background(), p)
		if err != nil || len(res.Metrics) != 1 || res.Metrics[0].Value <= 0 || res.Metrics[0].Unit != "B/s" {
			t.Errorf("%s: %+v %v", op, res, err)
		}
		if res.Conditions["vector"] != vectors()[0].vector {
			t.Errorf("%s: conditions %v, want vector=%s", op, res.Conditions, vectors()[0].vector)
		}
		if len(res.Warnings) != 1 {
			t.Errorf("%s: 4MiB arrays against a 32MiB cache must warn, got %v", op, res.Warnings)
		}
	}
}

// The arrays each start on a 2 MiB boundary (where a huge page can back
// them), do not overlap, and hold what is written to them.
func TestHugeArrays(t *testing.T) {
	const n = 3<<20/8 + 5 // not a whole number of huge pages
	arrays, free := hugeArrays(n)
	defer free()
	for i, a := range arrays {
		if len(a) != n {
			t.Fatalf("array %d has %d elements, want %d", i, len(a), n)
		}
		if addr := uintptr(unsafe.Pointer(&a[0])); addr%(2<<20) != 0 {
			t.Errorf("array %d starts at %#x, not on a 2 MiB boundary", i, addr)
		}
		for j := range a {
			a[j] = float64(i)
		}
	}
	for i, a := range arrays {
		if a[0] != float64(i) || a[n-1] != float64(i) {
			t.Errorf("array %d holds %v … %v: the arrays overlap", i, a[0], a[n-1])
		}
	}
}
