package scenario

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Gate kinds. The bound a gate gives decides its kind: max or min is
// absolute, max_overhead is relative to another platform of the same run,
// negligible asserts that the overhead versus another platform lies within
// ±margin (equivalence), max_regression is relative to a baseline run.
const (
	Absolute    = "absolute"
	Relative    = "relative"
	Equivalence = "negligible"
	Regression  = "regression"
	// Loss is a density SLO's: the per-instance value at a level may be at
	// most Bound worse than the same platform's at level 1.
	Loss = "loss"
	// PerHost and DensityLoss gate a density sweep's capacity (vmbench
	// capacity): at least Bound instances per host; at most Bound fewer
	// instances per host than Versus (1 − k/k_versus).
	PerHost     = "min_instances_per_host"
	DensityLoss = "max_density_loss"
)

// Aggregates an absolute gate can bound. The median is judged by its 95%
// confidence interval; the others by their value.
var Aggregates = []string{"median", "mean", "min", "max", "p90", "p95", "p99"}

// Gate is one rule of the scenario's gates: list, decoded and validated.
type Gate struct {
	Path      string // "gates[2]", where it was written
	Name      string
	Kind      string
	Workload  string // the scenario's workload name, or workload.Boot
	Metric    string
	Where     map[string]string // parameter values that select the variants; empty: all
	Platforms []string          // the platforms judged; empty: every one the kind applies to
	// Absolute: Aggregate of the trials' values must stay ≤ Bound (Upper)
	// or ≥ Bound, in the metric's base unit.
	Aggregate string
	Bound     float64
	Upper     bool
	// Relative: the overhead versus Versus must stay ≤ Bound; Equivalence:
	// within ±Bound.
	Versus string
	// Hosts, on a fleet run (vmbench merge), judges the gate on each host
	// apart: all of them must pass, or any one; "": on the fleet's pooled
	// trials.
	Hosts string
	// AtLeast turns a relative gate around (min_overhead): the overhead
	// must be at least Bound, the direction a published finding predicts.
	AtLeast bool
	// Regression: pass where the whole interval (at 1−Alpha) of the change
	// versus the baseline run stays ≤ Bound, fail where all of it is
	// above. Of says what
	// changes: "overhead", the platform's cost relative to the run's
	// baseline platform, trial by trial in the same round (host drift
	// between the two runs cancels out); or "value", the metric itself.
	Alpha float64
	Of    string

	bound string // as written; Validate parses it in the metric's unit
}

// DefaultAlpha is the significance level of regression gates.
const DefaultAlpha = 0.05

var gateKeys = []string{"name", "metric", "where", "platform", "aggregate", "max", "min", "max_overhead", "min_overhead", "negligible", "versus", "max_regression", "alpha", "of", "max_loss", "hosts"}

// capacityKeys are the keys of a gate on a density sweep's capacity.
var capacityKeys = []string{"name", "platform", "versus", PerHost, DensityLoss}

func (d *decoder) gate(n *yaml.Node, path string) Gate {
	g := Gate{Path: path, Aggregate: "median", Alpha: DefaultAlpha}
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k == PerHost || k == DensityLoss {
			return d.capacityGate(n, path)
		}
	}
	f := d.fields(n, path, "gate", gateKeys, "metric")
	d.strField(f, "name", path+".name", &g.Name)
	var metric string
	d.strField(f, "metric", path+".metric", &metric)
	if metric != "" {
		w, m, ok := strings.Cut(metric, ".")
		if !ok || w == "" || m == "" {
			d.fail(f["metric"], path+".metric", "must be workload.metric, such as cpu.throughput or boot.launch_to_ready, got %q", metric)
		}
		g.Workload, g.Metric = w, m
	}
	if wn := f["where"]; wn != nil {
		if wn.Kind != yaml.MappingNode {
			d.fail(wn, path+".where", "must be a mapping of parameter names to values, such as {threads: 2}, got %s", kindName(wn))
		}
		g.Where = map[string]string{}
		for i := 0; wn.Kind == yaml.MappingNode && i+1 < len(wn.Content); i += 2 {
			k, v := wn.Content[i], wn.Content[i+1]
			kp := path + ".where." + k.Value
			d.at(kp, v)
			if d.scalar(v, kp) {
				g.Where[k.Value] = v.Value
			}
		}
	}
	if pn := f["platform"]; pn != nil {
		if pn.Kind == yaml.SequenceNode {
			for i, item := range d.seq(pn, path+".platform") {
				if d.scalar(item, fmt.Sprintf("%s.platform[%d]", path, i)) {
					g.Platforms = append(g.Platforms, item.Value)
				}
			}
		} else if d.scalar(pn, path+".platform") {
			g.Platforms = []string{pn.Value}
		}
	}
	d.strField(f, "aggregate", path+".aggregate", &g.Aggregate)
	d.strField(f, "versus", path+".versus", &g.Versus)
	d.floatField(f, "alpha", path+".alpha", &g.Alpha)
	d.strField(f, "of", path+".of", &g.Of)
	d.strField(f, "hosts", path+".hosts", &g.Hosts)
	if g.Hosts != "" && g.Hosts != "all" && g.Hosts != "any" {
		d.fail(f["hosts"], path+".hosts", "must be all (every host of a fleet run passes) or any (one does), got %q", g.Hosts)
	}

	var bounds []string
	for _, k := range []string{"max", "min", "max_overhead", "min_overhead", "negligible", "max_regression", "max_loss"} {
		if f[k] != nil {
			bounds = append(bounds, k)
		}
	}
	if len(bounds) != 1 {
		what := "none"
		if len(bounds) > 1 {
			what = strings.Join(bounds, " and ")
		}
		d.fail(n, path, "give exactly one bound: max or min (absolute), max_overhead, min_overhead or negligible (versus another platform) or max_regression (versus a baseline run); got %s", what)
		return g
	}
	key := bounds[0]
	d.strField(f, key, path+"."+key, &g.bound)
	switch key {
	case "max", "min":
		g.Kind, g.Upper = Absolute, key == "max"
	case "max_overhead", "min_overhead":
		g.Kind, g.AtLeast = Relative, key == "min_overhead"
	case "negligible":
		g.Kind = Equivalence
	case "max_loss":
		g.Kind = Loss
	case "max_regression":
		g.Kind = Regression
	}
	if g.Kind == Regression && f["of"] == nil {
		g.Of = "overhead"
		if g.Workload == workload.Boot {
			g.Of = "value" // the baseline platform does not boot
		}
	}
	for k, kind := range map[string]string{"aggregate": Absolute, "versus": Relative, "alpha": Regression, "of": Regression} {
		if f[k] != nil && g.Kind != kind && !(k == "versus" && g.Kind == Equivalence) {
			d.fail(f[k], path+"."+k, "applies to %s gates only (this gate's bound, %s, makes it %s)", kind, key, g.Kind)
		}
	}
	return g
}

// capacityGate decodes a gate on a density sweep's capacity.
func (d *decoder) capacityGate(n *yaml.Node, path string) Gate {
	g := Gate{Path: path}
	f := d.fields(n, path, "capacity gate", capacityKeys)
	d.strField(f, "name", path+".name", &g.Name)
	d.strField(f, "versus", path+".versus", &g.Versus)
	if pn := f["platform"]; pn != nil && d.scalar(pn, path+".platform") {
		g.Platforms = []string{pn.Value}
	}
	if f[PerHost] != nil && f[DensityLoss] != nil {
		d.fail(n, path, "give one bound: %s or %s", PerHost, DensityLoss)
	}
	switch {
	case f[PerHost] != nil:
		g.Kind = PerHost
		var k int
		if d.int(f[PerHost], path+"."+PerHost, &k) {
			g.Bound = float64(k)
		}
		if f["versus"] != nil {
			d.fail(f["versus"], path+".versus", "applies to %s only", DensityLoss)
		}
	case f[DensityLoss] != nil:
		g.Kind = DensityLoss
		d.strField(f, DensityLoss, path+"."+DensityLoss, &g.bound)
	}
	return g
}

// capacityGate checks a gate on a density sweep's capacity.
func (v *validator) capacityGate(g *Gate) {
	path := g.Path
	if v.s.Density == nil {
		v.fail(path, "%s gates a density sweep's capacity: add a density: block, or gate a metric", g.Kind)
	}
	if len(g.Platforms) == 0 {
		v.fail(path, "name the platform whose capacity is gated (platform: vm)")
	}
	for _, p := range g.Platforms {
		if _, ok := v.platformNamed(p); !ok {
			v.fail(path+".platform", "%q is not a platform of this scenario (platforms: %s)", p, strings.Join(v.platformNames(), ", "))
		}
	}
	switch g.Kind {
	case PerHost:
		if g.Bound < 1 {
			v.fail(path+"."+PerHost, "must be ≥ 1 instances, got %g", g.Bound)
		}
	case DensityLoss:
		b, err := parsePercent(g.bound)
		if err != nil || b < 0 || b >= 1 {
			v.fail(path+"."+DensityLoss, "must be a percentage from 0%% to below 100%% (the share of instances per host lost versus the other platform), got %q", g.bound)
		}
		g.Bound = b
		if g.Versus == "" {
			v.fail(path+".versus", "name the platform the density is compared with (versus: container)")
		} else if _, ok := v.platformNamed(g.Versus); !ok {
			v.fail(path+".versus", "%q is not a platform of this scenario (platforms: %s)", g.Versus, strings.Join(v.platformNames(), ", "))
		} else if len(g.Platforms) == 1 && g.Platforms[0] == g.Versus {
			v.fail(path+".versus", "is the platform gated; name another")
		}
	}
	if g.Name == "" {
		if g.Kind == PerHost {
			g.Name = fmt.Sprintf("%s per host ≥ %g", strings.Join(g.Platforms, ","), g.Bound)
		} else {
			g.Name = fmt.Sprintf("%s density vs %s loses ≤ %s", strings.Join(g.Platforms, ","), g.Versus, g.bound)
		}
	}
}

// gate checks what a decoded gate refers to and parses its bound.
func (v *validator) gate(g *Gate) {
	v.plain(g.Path+".name", g.Name)
	if g.Kind == PerHost || g.Kind == DensityLoss {
		v.capacityGate(g)
		return
	}
	path := g.Path
	if g.Workload == "" {
		return // the decoder reported it
	}
	var metrics []workload.MetricInfo
	var impl workload.Workload
	var variants []workload.Params
	if g.Workload == workload.Boot {
		metrics = workload.BootMetrics
	} else if i := slices.IndexFunc(v.s.Workloads, func(w Workload) bool { return w.Name == g.Workload }); i < 0 {
		v.fail(path+".metric", "%q is not a workload of this scenario (workloads: %s; boot for a guest's start)", g.Workload, strings.Join(v.workloadNames(), ", "))
		return
	} else if w, ok := workloads.Lookup(v.s.Workloads[i].Type); ok {
		impl, metrics = w, v.s.Workloads[i].Metrics()
		for _, variant := range Variants(v.s.Workloads[i]) {
			p, _ := workload.Complete(w, variant.Given)
			variants = append(variants, p)
		}
	} else {
		return // unknown workload type: reported for the workload
	}
	mi := slices.IndexFunc(metrics, func(m workload.MetricInfo) bool { return m.Name == g.Metric })
	if mi < 0 {
		var names []string
		for _, m := range metrics {
			names = append(names, g.Workload+"."+m.Name)
		}
		v.fail(path+".metric", "workload %s has no metric %q (metrics: %s)", g.Workload, g.Metric, strings.Join(names, ", "))
		return
	}
	unit := metrics[mi].Unit

	if len(g.Where) > 0 && impl == nil {
		v.fail(path+".where", "boot has no parameters to select")
	}
	for _, k := range sortedKeys(g.Where) {
		if impl == nil {
			break
		}
		if !slices.Contains(workload.Names(impl), k) {
			v.fail(path+".where."+k, "not a parameter of workload %s (parameters: %s)", impl.Name(), strings.Join(workload.Names(impl), ", "))
			continue
		}
		var vals []string
		for _, p := range variants {
			if !slices.Contains(vals, p[k]) {
				vals = append(vals, p[k])
			}
		}
		if !slices.Contains(vals, g.Where[k]) {
			v.fail(path+".where."+k, "no variant of workload %s has %s=%s (values in this scenario: %s)", g.Workload, k, g.Where[k], strings.Join(vals, ", "))
		}
	}

	// A matrix's platforms are addressed by their family: vm is every
	// variant of vm, vm[vcpus=2] those with vcpus=2.
	var named []string
	for _, p := range g.Platforms {
		if sel := v.s.selectPlatforms(p); len(sel) > 0 {
			named = append(named, sel...)
		} else {
			named = append(named, p)
		}
	}
	g.Platforms = slices.Compact(named)
	for i, p := range g.Platforms {
		ppath := path + ".platform"
		if len(g.Platforms) > 1 {
			ppath = fmt.Sprintf("%s[%d]", ppath, i)
		}
		pl, ok := v.platformNamed(p)
		switch {
		case !ok:
			v.fail(ppath, "%q is not a platform of this scenario (platforms: %s)", p, strings.Join(v.platformNames(), ", "))
		case g.Workload == workload.Boot && pl.Type != VM:
			v.fail(ppath, "platform %s is a %s; only vm platforms have boot metrics", p, pl.Type)
		case (g.Kind == Relative || g.Kind == Equivalence) && p == g.versus(v.s):
			v.fail(ppath, "is the platform it is compared with (versus: %s); name another platform", p)
		case g.Kind == Regression && g.Of == "overhead" && p == v.s.Baseline:
			v.fail(ppath, "is the baseline platform, whose overhead is 0 by definition; name another platform, or set of: value to gate its values")
		}
	}
	if g.Kind == Regression && g.Of == "overhead" && g.Workload == workload.Boot {
		v.fail(path+".of", "boot metrics have no value on the baseline platform to be relative to; set of: value")
	}
	if g.Kind == Relative || g.Kind == Equivalence {
		if _, ok := v.platformNamed(g.versus(v.s)); !ok {
			v.fail(path+".versus", "%q is not a platform of this scenario (platforms: %s)", g.Versus, strings.Join(v.platformNames(), ", "))
		}
	}

	switch g.Kind {
	case Absolute:
		if !slices.Contains(Aggregates, g.Aggregate) {
			v.fail(path+".aggregate", "must be one of %s, got %q", strings.Join(Aggregates, ", "), g.Aggregate)
		}
		key := "min"
		if g.Upper {
			key = "max"
		}
		b, err := parseValue(g.bound, unit)
		if err != nil {
			v.fail(path+"."+key, "%v", err)
		}
		g.Bound = b
	case Relative, Equivalence, Regression, Loss:
		key := map[string]string{Relative: "max_overhead", Equivalence: "negligible", Regression: "max_regression", Loss: "max_loss"}[g.Kind]
		b, err := parsePercent(g.bound)
		switch {
		case err != nil:
			v.fail(path+"."+key, "%v", err)
		case g.Kind == Regression && b < 0:
			v.fail(path+"."+key, "is the noise threshold and must be ≥ 0%%, got %s", g.bound)
		case g.Kind == Equivalence && !(b > 0 && b < 1):
			v.fail(path+"."+key, "is the equivalence margin and must be above 0%% and below 100%%, got %s", g.bound)
		case g.Kind == Loss && !(b >= 0 && b < 1):
			v.fail(path+"."+key, "is the per-instance loss allowed versus level 1 and must be from 0%% to below 100%%, got %s", g.bound)
		}
		g.Bound = b
		if g.Kind == Regression && g.Of != "overhead" && g.Of != "value" {
			v.fail(path+".of", "must be overhead (the cost relative to the baseline platform, round by round) or value (the metric itself), got %q", g.Of)
		}
		if g.Kind == Regression && !(g.Alpha > 0 && g.Alpha < 1) {
			v.fail(path+".alpha", "must be a significance level between 0 and 1, such as 0.05, got %g", g.Alpha)
		}
	}
	if g.Kind == Relative || g.Kind == Equivalence {
		g.Versus = g.versus(v.s)
	}
	if len(g.Platforms) == 0 {
		for _, p := range v.s.Platforms {
			if ((g.Kind == Relative || g.Kind == Equivalence) && p.Name == g.Versus) || (g.Workload == workload.Boot && p.Type != VM) ||
				(g.Kind == Regression && g.Of == "overhead" && p.Name == v.s.Baseline) {
				continue
			}
			g.Platforms = append(g.Platforms, p.Name)
		}
	}
	if g.Name == "" {
		g.Name = g.describe()
	}
}

// versus is the platform a relative gate compares with.
func (g Gate) versus(s *Scenario) string {
	if g.Versus != "" {
		return g.Versus
	}
	return s.Baseline
}

// describe names a gate that has no name: "cpu.throughput overhead vs native ≤ 10%".
func (g Gate) describe() string {
	m := g.Workload + "." + g.Metric
	switch g.Kind {
	case Absolute:
		op := "≥"
		if g.Upper {
			op = "≤"
		}
		return fmt.Sprintf("%s %s %s %s", m, g.Aggregate, op, g.bound)
	case Relative:
		if g.AtLeast {
			return fmt.Sprintf("%s overhead vs %s ≥ %s", m, g.Versus, g.bound)
		}
		return fmt.Sprintf("%s overhead vs %s ≤ %s", m, g.Versus, g.bound)
	case Equivalence:
		return fmt.Sprintf("%s negligible vs %s (±%s)", m, g.Versus, g.bound)
	case Loss:
		return fmt.Sprintf("%s per instance loses ≤ %s vs 1 instance", m, g.bound)
	}
	if g.Of == "overhead" {
		return fmt.Sprintf("%s overhead regression ≤ %s", m, g.bound)
	}
	return fmt.Sprintf("%s regression ≤ %s", m, g.bound)
}

// Matches reports whether a variant's parameters are selected by the gate.
func (g Gate) Matches(params map[string]string) bool {
	for k, v := range g.Where {
		if params[k] != v {
			return false
		}
	}
	return true
}

// parseValue reads a bound in the metric's unit: a duration for seconds
// ("2ms"), a size for bytes ("1GiB"), a size per second for B/s
// ("500MiB/s"), a number otherwise; a plain number is in the base unit.
func parseValue(s, unit string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("must be a value in %s", unit)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f, nil
	}
	switch unit {
	case "s":
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as 2ms or 1.5s (the metric is in seconds), got %q", s)
		}
		return d.Seconds(), nil
	case "B":
		b, err := units.ParseSize(s)
		if err != nil {
			return 0, fmt.Errorf("must be a size such as 512MiB (the metric is in bytes): %v", err)
		}
		return float64(b), nil
	case "B/s":
		b, err := units.ParseSize(strings.TrimSuffix(s, "/s"))
		if err != nil || !strings.HasSuffix(s, "/s") {
			return 0, fmt.Errorf("must be a rate such as 2GB/s or 500MiB/s (the metric is in bytes per second), got %q", s)
		}
		return float64(b), nil
	}
	num := strings.TrimSpace(strings.TrimSuffix(s, unit))
	if f, err := strconv.ParseFloat(num, 64); err == nil {
		return f, nil
	}
	return 0, fmt.Errorf("must be a number in %s, got %q", unit, s)
}

// parsePercent reads "10%" as 0.10.
func parsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("must be a percentage such as 10%%, got %q", s)
	}
	return f / 100, nil
}

func (v *validator) platformNamed(name string) (Platform, bool) {
	i := slices.IndexFunc(v.s.Platforms, func(p Platform) bool { return p.Name == name })
	if i < 0 {
		return Platform{}, false
	}
	return v.s.Platforms[i], true
}

func (v *validator) workloadNames() []string {
	var names []string
	for _, w := range v.s.Workloads {
		names = append(names, w.Name)
	}
	return names
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
