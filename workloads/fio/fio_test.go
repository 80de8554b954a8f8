package fio

import (
	"math"
	"os"
	"slices"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

func metrics(t *testing.T, file string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, x := range res.Metrics {
		m[x.Name] = x.Value
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Real output of fio 3.33, captured with the command line Args builds.
func TestParseMixedAddsDirections(t *testing.T) {
	m := metrics(t, "testdata/fio-randrw.json")
	want := map[string]float64{
		"iops":      7185.628743 + 7419.161677,
		"bandwidth": 29432335 + 30388886,
		"latency":   (67882.6375*3600 + 67869.087974*3717) / (3600 + 3717) / 1e9,
		"p50":       60672e-9, // the larger of read's and write's
		"p99":       350208e-9,
		"p99_9":     419840e-9,
	}
	for k, v := range want {
		if !near(m[k], v) {
			t.Errorf("%s = %g, want %g", k, m[k], v)
		}
	}
}

func TestParseRandRead(t *testing.T) {
	m := metrics(t, "testdata/fio-randread.json")
	if m["iops"] <= 0 || !near(m["bandwidth"], m["iops"]*4096) && math.Abs(m["bandwidth"]/(m["iops"]*4096)-1) > 0.01 || m["p50"] <= 0 || m["p99_9"] < m["p50"] {
		t.Errorf("metrics %v", m)
	}
}

func TestParseRejectsWhatIsNotFio(t *testing.T) {
	for _, out := range []string{"", "fio: pid=0, err=2/file:filesetup.c", `{"jobs": []}`, `{"jobs": [{"error": 5}]}`} {
		if _, err := Parse([]byte(out)); err == nil {
			t.Errorf("%q parsed", out)
		}
	}
}

func TestArgs(t *testing.T) {
	p, errs := workload.Complete(Workload{}, map[string]string{"op": "mixed", "engine": "libaio", "iodepth": "16", "bs": "64KiB", "duration": "1500ms"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	args := Args(p, "/scratch/fio.dat")
	for _, want := range []string{"--rw=randrw", "--rwmixread=50", "--bs=65536", "--ioengine=libaio", "--iodepth=16", "--direct=1", "--runtime=1500ms", "--time_based", "--filename=/scratch/fio.dat", "--size=268435456", "--output-format=json"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	p, _ = workload.Complete(Workload{}, map[string]string{"pattern": "seq", "op": "write", "fsync": "4", "direct": "false"})
	args = Args(p, "/dev/vda")
	for _, want := range []string{"--rw=write", "--ioengine=psync", "--iodepth=1", "--direct=0", "--fsync=4"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
}
