package nginx

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

// The testdata are wrk 4.1.0's reports against this workload's nginx on the
// build machine (1 s, 2 threads, 32 connections).
func TestParseCapturedWrk(t *testing.T) {
	for _, tc := range []struct {
		file               string
		rate, p50, p99, bw float64
	}{
		{"wrk-4k.txt", 74928.38, 419e-6, 1.19e-3, 310.91 * (1 << 20)},
		{"wrk-1m.txt", 3289.12, 9.68e-3, 15.65e-3, 3.21 * (1 << 30)},
	} {
		out, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Parse(out)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		got := map[string]float64{}
		for _, m := range res.Metrics {
			got[m.Name] = m.Value
		}
		for name, want := range map[string]float64{"rate": tc.rate, "p50": tc.p50, "p99": tc.p99, "bandwidth": tc.bw} {
			if math.Abs(got[name]-want) > 1e-9*want {
				t.Errorf("%s: %s = %g, want %g", tc.file, name, got[name], want)
			}
		}
		if len(res.Metrics) != len((Workload{}).Metrics()) {
			t.Errorf("%s: %d metrics, want every one declared", tc.file, len(res.Metrics))
		}
	}
}

func TestParseRefusesErrors(t *testing.T) {
	out, err := os.ReadFile("testdata/wrk-404.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(out); err == nil || !strings.Contains(err.Error(), "answered with an error status") {
		t.Errorf("404s: err = %v", err)
	}
	if _, err := Parse([]byte("unable to connect to 127.0.0.1:48080 Connection refused\n")); err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Errorf("no connection: err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	for given, want := range map[string]string{"threads=8 connections=4": "at least one connection per thread", "duration=1500ms": "whole seconds"} {
		params := map[string]string{}
		for _, kv := range strings.Fields(given) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		_, errs := workload.Complete(Workload{}, params)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), want) {
			t.Errorf("%s: %v, want %q", given, errs, want)
		}
	}
}

func TestConfigListensAndLogsOnlyTheStop(t *testing.T) {
	c := Config("/tmp/x", "127.0.0.5", 2)
	for _, want := range []string{"listen 127.0.0.5:48080;", "worker_processes 2;", "access_log off;", "location = /vmbench-stop { access_log /tmp/x/stop.log;", "root /tmp/x/www;"} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
}
