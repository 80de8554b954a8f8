package cpu

import (
	"context"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

func TestKernelsMeasure(t *testing.T) {
	for _, k := range []string{"hash", "compress"} {
		p, errs := workload.Complete(Workload{}, map[string]string{"kernel": k, "threads": "2", "duration": "30ms"})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		res, err := Workload{}.Run(context.Background(), p)
		if err != nil || len(res.Metrics) != 1 || res.Metrics[0].Value <= 0 {
			t.Errorf("%s: %+v %v", k, res, err)
		}
	}
}

func TestCancelledRunReturnsError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ := workload.Complete(Workload{}, map[string]string{"duration": "10s"})
	if _, err := (Workload{}).Run(ctx, p); err == nil {
		t.Error("a cancelled run returned metrics")
	}
}
