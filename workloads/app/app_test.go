package app

import (
	"os"
	"strings"
	"testing"
)

func TestReadRegexAndJSON(t *testing.T) {
	s := Spec{Command: []string{"x"}, Metrics: []Metric{
		{Name: "rate", Unit: "ops/s", Regex: `rate=(?P<value>[0-9.e+]+)`},
		{Name: "p99", Unit: "s", Regex: `p99 (?P<value>\S+)s`},
	}}
	res, err := s.Read([]byte("starting\nrate=1.5e+06 ops\np99 0.0021s\n"))
	if err != nil || len(res.Metrics) != 2 || res.Metrics[0].Value != 1.5e6 || res.Metrics[1].Value != 0.0021 {
		t.Errorf("regex: %+v %v", res.Metrics, err)
	}
	_, err = s.Read([]byte("Segmentation fault\nat line 3\n"))
	if err == nil || !strings.Contains(err.Error(), "matches nothing in the output, which began: Segmentation fault | at line 3") {
		t.Errorf("no match: %v", err)
	}
	j := Spec{Command: []string{"x"}, Metrics: []Metric{{Name: "lat", Unit: "s", JSON: "jobs.0.read.lat_s"}}}
	res, err = j.Read([]byte(`{"jobs": [{"read": {"lat_s": 0.25}}]}`))
	if err != nil || res.Metrics[0].Value != 0.25 {
		t.Errorf("json: %+v %v", res.Metrics, err)
	}
	if _, err := j.Read([]byte(`{"jobs": []}`)); err == nil || !strings.Contains(err.Error(), `no element "0"`) {
		t.Errorf("json, missing: %v", err)
	}
}

// A parser of vmbench's own reads a tool's output: wrk's, captured.
func TestReadWithAParser(t *testing.T) {
	out, err := os.ReadFile("../nginx/testdata/wrk-4k.txt")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Spec{Command: []string{"x"}, Parser: "wrk"}.Read(out)
	if err != nil || len(res.Metrics) == 0 || res.Metrics[0].Name != "rate" || res.Metrics[0].Value != 74928.38 {
		t.Errorf("%+v %v", res.Metrics, err)
	}
	if m := MetricsOf(Spec{Parser: "wrk"}); len(m) == 0 || m[0].Name != "rate" {
		t.Errorf("MetricsOf(wrk) = %v", m)
	}
	if _, err := (Spec{Command: []string{"x"}, Parser: "wrk"}).Read([]byte("oops\n")); err == nil || !strings.Contains(err.Error(), "the output began: oops") {
		t.Errorf("wrk on garbage: %v", err)
	}
}
