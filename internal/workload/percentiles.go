package workload

import (
	"fmt"

	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/result"
)

// Percentiles are the latency percentiles a workload with a histogram
// reports (syscall, disk, net, fio), as metric names.
var Percentiles = []struct {
	Name string
	Q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99_9", 0.999}}

// QuantileMetrics are h's Percentiles as metrics, in seconds.
func QuantileMetrics(h *hist.Hist) []result.Metric {
	var out []result.Metric
	for _, pc := range Percentiles {
		out = append(out, result.Metric{Name: pc.Name, Unit: "s", Value: h.Quantile(pc.Q)})
	}
	return out
}

// PercentileInfo declares the Percentiles metrics; format says what a
// percentile q (in percent) of them is. The p99 speaks for tail, a line of
// the report's summary ("" for none).
func PercentileInfo(format, tail string) []MetricInfo {
	var out []MetricInfo
	for _, p := range Percentiles {
		m := MetricInfo{Name: p.Name, Unit: "s", Help: fmt.Sprintf(format, 100*p.Q)}
		if p.Name == "p99" {
			m.Resource = tail
		}
		out = append(out, m)
	}
	return out
}
