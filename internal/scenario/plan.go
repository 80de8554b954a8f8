package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vmbench/vmbench/workloads/app"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads"
)

// Variant is one combination of a workload's parameter values.
type Variant struct {
	Given map[string]string // the values the scenario wrote
	Label string            // "kernel=hash threads=2", from Given in file order
}

// Variants expands parameter lists into their cartesian product, in file
// order, the last parameter varying fastest.
func Variants(w Workload) []Variant {
	out := []Variant{{Given: map[string]string{}}}
	for _, p := range w.Params {
		var next []Variant
		for _, v := range out {
			for _, val := range p.Values {
				g := maps.Clone(v.Given)
				g[p.Key] = val
				label := p.Key + "=" + val
				if v.Label != "" {
					label = v.Label + " " + label
				}
				next = append(next, Variant{Given: g, Label: label})
			}
		}
		out = next
	}
	if w.App != nil {
		// The app's spec is a parameter of every variant, but no part of
		// its label: the scenario's app: block says what it is.
		for i := range out {
			out[i].Given[app.ParamName] = w.App.Encode()
		}
	}
	return out
}

// Trial is one run of one workload variant on one platform.
type Trial struct {
	Seq      int // position in the plan, from 0
	Rep      int // repetition index; warmups and measured trials count separately from 0
	Warmup   bool
	Workload string
	Type     string
	Impl     workload.Workload // Type resolved, once, by Plan
	Params   workload.Params   // complete, defaults filled in
	Label    string
	Platform string
}

// Cell is the trial's cell: its workload variant on its platform.
func (t Trial) Cell() result.Cell {
	return result.Cell{Workload: t.Workload, Label: t.Label, Platform: t.Platform}
}

// Plan lists the trials of a validated scenario. Trials are interleaved: each
// round runs every variant once on every platform, and the platform order
// rotates from round to round, so that slow drift of the host (thermal,
// background load) is spread over all platforms instead of landing on one.
func Plan(s *Scenario) []Trial {
	type variant struct {
		w      Workload
		impl   workload.Workload
		params workload.Params
		label  string
	}
	var variants []variant
	for _, w := range s.Workloads {
		impl, _ := workloads.Lookup(w.Type)
		for _, v := range Variants(w) {
			params, _ := workload.Complete(impl, v.Given)
			variants = append(variants, variant{w: w, impl: impl, params: params, label: v.Label})
		}
	}
	var trials []Trial
	rounds := s.Warmup + s.Repetitions
	n := len(s.Platforms)
	for r := range rounds {
		warm := r < s.Warmup
		rep := r
		if !warm {
			rep = r - s.Warmup
		}
		for _, v := range variants {
			for i := range n {
				p := s.Platforms[(i+r)%n]
				if !v.w.RunsOn(p, s.Baseline) {
					continue
				}
				trials = append(trials, Trial{
					Seq: len(trials), Rep: rep, Warmup: warm,
					Workload: v.w.Name, Type: v.w.Type, Impl: v.impl, Params: maps.Clone(v.params), Label: v.label,
					Platform: p.Name,
				})
			}
		}
	}
	return trials
}

// Describe returns "3 platforms × 4 variants × (1 warmup + 6 repetitions) = 84 trials".
func Describe(s *Scenario) string {
	variants := 0
	for _, w := range s.Workloads {
		variants += len(Variants(w))
	}
	platforms := plural(len(s.Platforms), "platform")
	var families []string
	made := 0
	for _, p := range s.Platforms {
		if p.Family != "" {
			made++
			if !slices.Contains(families, p.Family) {
				families = append(families, p.Family)
			}
		}
	}
	if made > 0 {
		platforms += fmt.Sprintf(" (%d from the %s of %s)", made, map[bool]string{true: "matrix", false: "matrices"}[len(families) == 1], strings.Join(families, ", "))
	}
	return platforms + " × " + plural(variants, "variant") + " × (" +
		plural(s.Warmup, "warmup") + " + " + plural(s.Repetitions, "repetition") + ") = " + plural(Trials(s), "trial")
}

func plural(n int, word string) string {
	s := strconv.Itoa(n) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}
