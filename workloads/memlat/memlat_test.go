package memlat

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

func TestRingIsOneCycleThroughEverySlot(t *testing.T) {
	const n = 1000
	ring := Ring(n, rand.New(rand.NewPCG(7, 7)))
	seen := map[uint64]bool{}
	at := uint64(0)
	for range n {
		if at%slot != 0 {
			t.Fatalf("pointer %d is not at the start of a slot", at)
		}
		if seen[at] {
			t.Fatalf("slot %d visited twice in %d steps: the ring is not one cycle", at/slot, len(seen))
		}
		seen[at] = true
		at = ring[at]
	}
	if at != 0 || len(seen) != n {
		t.Fatalf("after %d steps at %d having seen %d slots, want back at 0 having seen all", n, at, len(seen))
	}
}

func TestRunCacheFasterThanDRAM(t *testing.T) {
	w := Workload{}
	lat := func(size string) float64 {
		p, errs := workload.Complete(w, map[string]string{"size": size, "duration": "200ms"})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		res, err := w.Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		return res.Metrics[0].Value
	}
	small, big := lat("16KiB"), lat("256MiB")
	t.Logf("16KiB: %.2f ns, 256MiB: %.2f ns", small*1e9, big*1e9)
	if small <= 0 || big <= small {
		t.Errorf("a 16KiB chase (%.2f ns) should be faster than a 256MiB one (%.2f ns)", small*1e9, big*1e9)
	}
}
