package redis

import (
	"math"
	"os"
	"testing"
)

// Real output of redis-benchmark 7.0.15, captured with ClientArgs (-t get
// -n 20000 -c 50 --csv).
func TestParse(t *testing.T) {
	b, err := os.ReadFile("testdata/redis-benchmark.csv")
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
	if m["rate"] != 140845.06 || m["latency"] != 0.202/1e3 || m["p50"] != 0.191/1e3 || math.Abs(m["p95"]-0.295e-3) > 1e-12 || math.Abs(m["p99"]-0.471e-3) > 1e-12 {
		t.Errorf("metrics %v", m)
	}
	for _, bad := range []string{"", "\"test\",\"rps\"\n", "Could not connect to Redis at 10.0.0.1:6379: Connection refused\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
