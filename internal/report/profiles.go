package report

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/units"
)

// Profile is where the CPU time of one workload variant went on each
// platform: the trials' CPU profiles merged per platform, as flat shares
// per function, and the difference from the baseline platform.
type Profile struct {
	Workload, Label string
	Platforms       []string // those with profiles, in table order
	Trials          []int    // profiles merged, per platform
	Funcs           []FuncShare
}

// FuncShare is one function's share of the CPU samples.
type FuncShare struct {
	Name string
	// Share is the function's flat share (its own code, not its callees')
	// of the CPU samples per platform: 0.25 = a quarter of the time.
	Share []float64
	// Delta is Share minus the baseline's, from the diff profile (the
	// platform's profile merged with the baseline's negated); NaN on the
	// baseline and where there is no baseline.
	Delta []float64
}

// TopFuncs is how many functions a Profile lists by their share, before
// those added for a large difference from the baseline.
const TopFuncs = 8

// normTotal is what each merged profile is scaled to before it is
// compared: values are integers, so shares are kept in parts per 10⁹.
const normTotal = 1e9

// AddProfiles reads the measured trials' CPU profiles under dir and adds,
// per workload variant, where the time went on each platform.
func (t *Table) AddProfiles(dir string, samples []result.Sample) error {
	type key struct{ workload, label string }
	var keys []key
	byPlatform := map[key]map[string][]*profile.Profile{}
	for _, s := range samples {
		if s.Warmup || s.Profile == "" || s.Error != "" {
			continue
		}
		p, err := readProfile(dir, s.Profile)
		if err != nil {
			return err
		}
		k := key{s.Workload, s.Label}
		if byPlatform[k] == nil {
			byPlatform[k] = map[string][]*profile.Profile{}
			keys = append(keys, k)
		}
		byPlatform[k][s.Platform] = append(byPlatform[k][s.Platform], p)
	}
	for _, k := range keys {
		pr := Profile{Workload: k.workload, Label: k.label}
		var merged []*profile.Profile
		for _, col := range t.Platforms {
			ps := byPlatform[k][col.Name]
			if len(ps) == 0 {
				continue
			}
			m, err := profile.Merge(ps)
			if err != nil {
				return fmt.Errorf("merge the profiles of %s %s on %s: %w", k.workload, k.label, col.Name, err)
			}
			if total(m) == 0 {
				continue
			}
			m.Scale(normTotal / float64(total(m)))
			pr.Platforms = append(pr.Platforms, col.Name)
			pr.Trials = append(pr.Trials, len(ps))
			merged = append(merged, m)
		}
		if len(merged) == 0 {
			continue
		}
		base := slices.Index(pr.Platforms, t.Baseline)
		shares := make([]map[string]float64, len(merged))
		deltas := make([]map[string]float64, len(merged))
		for i, m := range merged {
			shares[i] = flat(m)
			if base >= 0 && i != base {
				d, err := diff(m, merged[base])
				if err != nil {
					return fmt.Errorf("diff the profiles of %s %s: %w", k.workload, k.label, err)
				}
				deltas[i] = flat(d)
			}
		}
		pr.Funcs = pick(shares, deltas)
		t.Profiles = append(t.Profiles, pr)
	}
	return nil
}

// readProfile reads the profile at rel in the run directory dir: a path
// read from a stored run, so it must stay beneath dir and name a regular
// file (not ../../dev/zero), of at most maxProfile bytes.
func readProfile(dir, rel string) (*profile.Profile, error) {
	b, err := safefs.ReadFile(dir, rel, maxProfile)
	if err != nil {
		return nil, err
	}
	p, err := profile.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, rel), err)
	}
	return p, nil
}

// maxProfile bounds a trial's CPU profile (a few hundred kB in practice).
const maxProfile = 64 << 20

// valueIndex is the index of the CPU time among a profile's sample values.
func valueIndex(p *profile.Profile) int {
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			return i
		}
	}
	return len(p.SampleType) - 1
}

func total(p *profile.Profile) int64 {
	v := valueIndex(p)
	var sum int64
	for _, s := range p.Sample {
		sum += s.Value[v]
	}
	return sum
}

// diff returns p minus base, both already normalised: pprof's diff_base.
func diff(p, base *profile.Profile) (*profile.Profile, error) {
	neg := base.Copy()
	neg.Scale(-1)
	return profile.Merge([]*profile.Profile{p.Copy(), neg})
}

// flat sums each function's own samples (the leaf frame, inlined callees
// counted as themselves), as a share of normTotal.
func flat(p *profile.Profile) map[string]float64 {
	v := valueIndex(p)
	out := map[string]float64{}
	for _, s := range p.Sample {
		name := "(unknown)"
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function != nil {
			name = s.Location[0].Line[0].Function.Name
		}
		out[name] += float64(s.Value[v]) / normTotal
	}
	return out
}

// pick lists the TopFuncs functions with the largest share on any
// platform, then those whose share differs from the baseline's by at least
// a percentage point, largest first, up to TopFuncs more.
func pick(shares, deltas []map[string]float64) []FuncShare {
	score := map[string]float64{}
	for _, m := range shares {
		for f, v := range m {
			score[f] = math.Max(score[f], v)
		}
	}
	names := sortedBy(score)
	if len(names) > TopFuncs {
		names = names[:TopFuncs]
	}
	moved := map[string]float64{}
	for _, m := range deltas {
		for f, v := range m {
			if !slices.Contains(names, f) && math.Abs(v) >= 0.01 {
				moved[f] = math.Max(moved[f], math.Abs(v))
			}
		}
	}
	more := sortedBy(moved)
	names = append(names, more[:min(len(more), TopFuncs)]...)
	var out []FuncShare
	for _, n := range names {
		fs := FuncShare{Name: n}
		for i := range shares {
			fs.Share = append(fs.Share, shares[i][n])
			d := math.NaN()
			if deltas[i] != nil {
				d = deltas[i][n]
			}
			fs.Delta = append(fs.Delta, d)
		}
		out = append(out, fs)
	}
	return out
}

// sortedBy returns the keys of m, largest value first, then by name.
func sortedBy(m map[string]float64) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// title names the variant and how many profiles were merged.
func (p Profile) title() string {
	var n []string
	for i, pl := range p.Platforms {
		n = append(n, fmt.Sprintf("%s %d", pl, p.Trials[i]))
	}
	return strings.TrimSpace(p.Workload+" "+p.Label) + " (profiles: " + strings.Join(n, ", ") + ")"
}

// header and records lay a Profile out as a table: the function, then each
// platform's share followed, off the baseline, by its difference.
func (p Profile) header(baseline string) []string {
	h := []string{"function"}
	for _, pl := range p.Platforms {
		h = append(h, pl)
		if pl != baseline && slices.Contains(p.Platforms, baseline) {
			h = append(h, pl+" vs "+baseline)
		}
	}
	return h
}

func (p Profile) records(baseline string) [][]string {
	var out [][]string
	for _, f := range p.Funcs {
		rec := []string{f.Name}
		for i, pl := range p.Platforms {
			rec = append(rec, fmt.Sprintf("%.1f%%", 100*f.Share[i]))
			if pl != baseline && slices.Contains(p.Platforms, baseline) {
				rec = append(rec, fmt.Sprintf("%+.1f pt", 100*f.Delta[i]))
			}
		}
		out = append(out, rec)
	}
	return out
}

// profileLegend explains the profile tables.
func profileLegend(baseline string) string {
	return "CPU profiles of the measured trials (runtime/pprof in the agent, wherever it ran), merged per platform: each function's own share of the CPU samples " +
		"(not its callees'), and the difference from " + baseline + " in percentage points, from pprof's diff of the two profiles. " +
		"The files are under profiles/<platform>/ (go tool pprof reads them)."
}

// exitColumns are the platforms that have KVM exit statistics.
func (t Table) exitColumns() []int {
	var cols []int
	for c := range t.Platforms {
		if slices.ContainsFunc(t.Exits, func(r analysis.Row) bool { return len(r.Cells[c].Values) > 0 }) {
			cols = append(cols, c)
		}
	}
	return cols
}

// exitTable is the header and rows of the KVM exit statistics: per workload
// variant and reason, each platform's median.
func (t Table) exitTable() ([]string, [][]string) {
	cols := t.exitColumns()
	h := []string{"workload", "variant", "exits"}
	for _, c := range cols {
		h = append(h, t.Platforms[c].Name)
	}
	var rows [][]string
	for _, r := range t.Exits {
		rec := []string{r.Workload, r.Label, strings.TrimPrefix(r.Metric, "kvm_")}
		for _, c := range cols {
			cell := "—"
			if len(r.Cells[c].Values) > 0 {
				cell = units.Format(r.Cells[c].Summary.Center, r.Unit)
			}
			rec = append(rec, cell)
		}
		rows = append(rows, rec)
	}
	return h, rows
}

// exitLegend says what the KVM exit statistics are.
const exitLegend = "VM exits per second of trial by reason, summed over the guest's vCPUs; the median of the trials. They are the kernel's own counters (KVM's binary statistics, read through QMP query-stats before and after each trial): where a guest left guest mode for the hypervisor, which is where its overhead goes. io and mmio exits are device emulation in QEMU (virtio notifications), halt exits an idle vCPU, irq exits host interrupts."
