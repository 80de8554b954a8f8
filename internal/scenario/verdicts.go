package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/stats"
	"github.com/vmbench/vmbench/workloads"
)

// Verdicts are how a scenario turns its comparisons into verdicts, and when
// it adds rounds to decide them.
type Verdicts struct {
	// Negligible is the equivalence margin: an overhead whose whole
	// interval lies within ±Negligible is negligible. Workloads may
	// override it (Workload.Margins).
	Negligible float64
	// Compare lists the comparisons the report's summary gives, each
	// {platform, reference}; empty: vm vs container, container vs native
	// and vm vs native, for the platforms of those types.
	Compare [][2]string
	// MaxRepetitions, above Repetitions, makes the run adaptive: it adds
	// interleaved rounds to the cells whose comparisons are still
	// undecided (or wider than Precision), at a fixed schedule of looks,
	// until decided, MaxRepetitions or TimeBudget.
	MaxRepetitions int
	Precision      float64       // the interval half-width wanted, in overhead points; 0: none
	TimeBudget     time.Duration // the most the added rounds may take; 0: no limit
}

// Adaptive reports whether the run may add rounds.
func (v Verdicts) Adaptive(reps int) bool { return v.MaxRepetitions > reps }

// Comparisons are the scenario's compare: pairs, or the default ones.
func (s *Scenario) Comparisons() [][2]string {
	if len(s.Compare) > 0 {
		return s.Compare
	}
	// A matrix's platforms: its first stands for it in the comparisons
	// across types, and each other one is compared with it (does the
	// setting change the cost?).
	var types, names []string
	first := map[string]string{}
	var within [][2]string
	for _, p := range s.Platforms {
		if p.Family != "" {
			if f, ok := first[p.Family]; ok {
				within = append(within, [2]string{p.Name, f})
				continue
			}
			first[p.Family] = p.Name
		}
		names, types = append(names, p.Name), append(types, p.Role())
	}
	return append(DefaultComparisons(names, types), within...)
}

// DefaultComparisons pairs, by role (Platform.Role), every vm platform with every container platform,
// every container with every native, and every vm with every native: the
// question vmbench asks first (containers in VMs against containers on bare
// metal), and the two that explain it.
func DefaultComparisons(names, types []string) [][2]string {
	var out [][2]string
	for _, pair := range [][2]string{{VM, Container}, {Container, Native}, {VM, Native}} {
		for i, a := range names {
			for j, b := range names {
				if types[i] == pair[0] && types[j] == pair[1] {
					out = append(out, [2]string{a, b})
				}
			}
		}
	}
	return out
}

func (d *decoder) verdicts(f map[string]*yaml.Node, v *Verdicts) {
	if m := d.margins(f["negligible"], "negligible"); m != nil {
		if _, ok := m[""]; !ok {
			d.fail(f["negligible"], "negligible", "must be a percentage such as 2%% (per-metric margins go under a workload's negligible:)")
		}
		v.Negligible = m[""]
	}
	if n := f["compare"]; n != nil {
		for i, item := range d.seq(n, "compare") {
			path := fmt.Sprintf("compare[%d]", i)
			if !d.scalar(item, path) {
				continue
			}
			a, b, ok := strings.Cut(item.Value, " vs ")
			if !ok || strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
				d.fail(item, path, "must read \"PLATFORM vs REFERENCE\", such as \"vm vs container\", got %q", item.Value)
				continue
			}
			v.Compare = append(v.Compare, [2]string{strings.TrimSpace(a), strings.TrimSpace(b)})
		}
	}
	d.intField(f, "max_repetitions", "max_repetitions", &v.MaxRepetitions)
	if n := f["precision"]; n != nil && d.scalar(n, "precision") {
		p, err := parsePercent(n.Value)
		if err != nil {
			d.fail(n, "precision", "the interval half-width wanted, %v", err)
		}
		v.Precision = p
	}
	d.durationField(f, "time_budget", "time_budget", &v.TimeBudget)
}

// margins reads a negligible: value: a percentage (under "") or a mapping
// of metric names to percentages. nil when n is nil.
func (d *decoder) margins(n *yaml.Node, path string) map[string]float64 {
	if n == nil {
		return nil
	}
	out := map[string]float64{}
	put := func(key string, n *yaml.Node, path string) {
		if !d.scalar(n, path) {
			return
		}
		m, err := parsePercent(n.Value)
		if err != nil {
			d.fail(n, path, "the equivalence margin %v", err)
			return
		}
		out[key] = m
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			d.at(path+"."+k.Value, k)
			put(k.Value, val, path+"."+k.Value)
		}
	default:
		put("", n, path)
	}
	return out
}

func (v *validator) verdicts() {
	s := v.s
	margin := func(path string, m float64) {
		if m < 0 || m >= 1 {
			v.fail(path, "must be from 0%% to below 100%%, got %g%%", 100*m)
		}
	}
	margin("negligible", s.Negligible)
	for i, w := range s.Workloads {
		path := fmt.Sprintf("workloads[%d].negligible", i)
		_, ok := workloads.Lookup(w.Type)
		for _, k := range slices.Sorted(maps.Keys(w.Margins)) {
			if k == "" {
				margin(path, w.Margins[k])
				continue
			}
			margin(path+"."+k, w.Margins[k])
			if !ok {
				continue
			}
			var names []string
			for _, m := range w.Metrics() {
				names = append(names, m.Name)
			}
			if !slices.Contains(names, k) {
				v.fail(path+"."+k, "workload %s has no metric %q (metrics: %s)", w.Name, k, strings.Join(names, ", "))
			}
		}
	}
	for i, c := range s.Compare {
		path := fmt.Sprintf("compare[%d]", i)
		for _, name := range c {
			if _, ok := v.platformNamed(name); !ok {
				v.fail(path, "%q is not a platform of this scenario (platforms: %s)", name, strings.Join(v.platformNames(), ", "))
			}
		}
		if c[0] == c[1] {
			v.fail(path, "compares %s with itself; name two platforms", c[0])
		}
	}
	if _, set := s.pos["max_repetitions"]; set && s.MaxRepetitions < s.Repetitions {
		v.fail("max_repetitions", "must be ≥ repetitions (%d): it is the most rounds an undecided cell gets, got %d", s.Repetitions, s.MaxRepetitions)
	}
	if looks := s.Looks(); len(looks) > 1 && s.Repetitions >= 1 {
		level := stats.Level(len(looks))
		if need := stats.MinRoundsAt(level); s.Repetitions < need {
			v.fail("repetitions", "%d rounds cannot carry a %.2f%% interval, the level of each of the %d looks at %v rounds that max_repetitions %d makes (5%% split over them): give at least %d repetitions, or a lower max_repetitions",
				s.Repetitions, 100*level, len(looks), looks, s.MaxRepetitions, need)
		}
	}
	if _, set := s.pos["precision"]; set && !(s.Precision > 0 && s.Precision < 1) {
		v.fail("precision", "must be above 0%% and below 100%%, got %g%%", 100*s.Precision)
	}
	if _, set := s.pos["time_budget"]; set && s.TimeBudget <= 0 {
		v.fail("time_budget", "must be a positive duration, got %s", s.TimeBudget)
	}
	for _, key := range []string{"precision", "time_budget"} {
		if _, set := s.pos[key]; set && !s.Adaptive(s.Repetitions) {
			v.fail(key, "only applies when rounds can be added: set max_repetitions above repetitions (%d)", s.Repetitions)
		}
	}
}

// Analysis is what the run records of the scenario's verdict settings, so
// that a report judges a stored run as the run itself did.
func (s *Scenario) Analysis() *result.Analysis {
	a := &result.Analysis{Negligible: s.Negligible, Compare: s.Comparisons(), Looks: s.Looks(), Precision: s.Precision}
	for _, w := range s.Workloads {
		for k, m := range w.Margins {
			if a.Margins == nil {
				a.Margins = map[string]float64{}
			}
			key := w.Name
			if k != "" {
				key += "." + k
			}
			a.Margins[key] = m
		}
	}
	return a
}

// Looks is the scenario's schedule of looks: the repetition counts at which
// an adaptive run judges its cells (stats.Looks).
func (s *Scenario) Looks() []int { return stats.Looks(s.Repetitions, s.MaxRepetitions) }
