package syscalls

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

// The pipe kind starts this binary as its echo process: here, the test
// binary, which echoes when asked as vmbench would.
func TestMain(m *testing.M) {
	if slices.Equal(os.Args[1:], EchoArgs) {
		if err := Echo(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestKinds(t *testing.T) {
	for _, kind := range []string{"getppid", "pipe"} {
		t.Run(kind, func(t *testing.T) {
			p, errs := workload.Complete(Workload{}, map[string]string{"kind": kind, "duration": "100ms"})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			res, err := Workload{}.Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]float64{}
			for _, x := range res.Metrics {
				m[x.Name] = x.Value
			}
			// A system call takes more than a nanosecond and, even
			// under emulation, less than 10 ms; a round trip costs
			// more than a null call.
			floor := 1e-9
			if kind == "pipe" {
				floor = 1e-7
			}
			if m["latency"] < floor || m["latency"] > 0.01 || m["rate"] < 100 {
				t.Errorf("latency %g s, rate %g/s", m["latency"], m["rate"])
			}
			if !(m["p50"] > 0 && m["p50"] <= m["p90"] && m["p90"] <= m["p99"] && m["p99"] <= m["p99_9"]) {
				t.Errorf("percentiles %v", m)
			}
			h := res.Histograms["latency"]
			if h == nil || h.Count() < 100 || h.Quantile(0.5) != m["p50"] {
				t.Errorf("histogram %v", h)
			}
			t.Logf("%s: mean %.0f ns, p50 %.0f ns, p99 %.0f ns, %d events", kind, 1e9*m["latency"], 1e9*m["p50"], 1e9*m["p99"], h.Count())
		})
	}
}

func TestUnknownKind(t *testing.T) {
	p, _ := workload.Complete(Workload{}, nil)
	p["kind"] = "fork"
	if _, err := (Workload{}).Run(context.Background(), p); err == nil {
		t.Error("an unknown kind ran")
	}
	if _, errs := workload.Complete(Workload{}, map[string]string{"kind": "fork"}); len(errs) == 0 {
		t.Error("an unknown kind passed the parameter check")
	}
}
