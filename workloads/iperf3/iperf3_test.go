package iperf3

import (
	"os"
	"slices"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

// Real output of iperf 3.12's client (-J), captured with ClientArgs.
func TestParse(t *testing.T) {
	b, err := os.ReadFile("testdata/iperf3-stream.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Metrics[0]; m.Name != "bandwidth" || m.Value != 20213715359.84962/8 || res.Work <= 0 {
		t.Errorf("%+v, work %g", m, res.Work)
	}
	if _, err := Parse([]byte(`{"start": {}, "error": "unable to connect to server: Connection refused"}`)); err == nil {
		t.Error("an error report parsed")
	}
}

func TestArgs(t *testing.T) {
	p, errs := workload.Complete(Workload{}, map[string]string{"connections": "4", "duration": "2s"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	args := ClientArgs(p, "10.213.1.2")
	if !slices.Equal(args, []string{"-c", "10.213.1.2", "-p", "45201", "-J", "-t", "2", "-P", "4"}) {
		t.Errorf("client args %v", args)
	}
	if _, errs := workload.Complete(Workload{}, map[string]string{"duration": "500ms"}); len(errs) == 0 {
		t.Error("500ms was accepted")
	}
}
