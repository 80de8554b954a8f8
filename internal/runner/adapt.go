package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vmbench/vmbench/internal/analysis"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/scenario"
)

// adapt adds interleaved rounds to the cells whose comparisons are still
// undecided (inconclusive, too few, or wider than the scenario's
// precision), at the scenario's fixed schedule of looks, until every one
// is decided, the last look or the time budget. Only the metrics the
// report's summary speaks for are judged. Every look is recorded in
// info.Adaptive.
func (ss *session) adapt(ctx context.Context) error {
	o, s, info := ss.o, ss.o.Scenario, ss.info
	looks := s.Looks()
	start := time.Now()
	for i, reps := range looks[:len(looks)-1] {
		samples, err := result.ReadSamples(ss.dir)
		if err != nil {
			return err
		}
		look := result.Look{Reps: reps}
		cells := analysis.Build(*info, samples).Undecided(s.Precision)
		for _, c := range cells {
			look.Undecided = append(look.Undecided, c.String())
		}
		switch {
		case len(cells) == 0:
			look.Stopped = "every comparison decided"
		case s.TimeBudget > 0 && time.Since(start) >= s.TimeBudget:
			look.Stopped = fmt.Sprintf("time budget %s spent", s.TimeBudget)
		}
		var trials []scenario.Trial
		if look.Stopped == "" {
			trials = moreRounds(s, cells, reps, looks[i+1])
			look.Trials = len(trials)
			fmt.Fprintf(o.Log, "look at %d rounds: %d cell(s) undecided, adding rounds %d–%d to them (%d trials)\n", reps, len(cells), reps+1, looks[i+1], len(trials))
		}
		info.Adaptive = append(info.Adaptive, look)
		if err := ss.plan(trials); err != nil {
			return err
		}
		if look.Stopped != "" {
			fmt.Fprintf(o.Log, "look at %d rounds: %s\n", reps, look.Stopped)
			return nil
		}
		// The budget is checked between rounds too: a round is the unit
		// of pairing, so one is never cut short.
		for len(trials) > 0 {
			n := 1
			for n < len(trials) && trials[n].Rep == trials[0].Rep {
				n++
			}
			if s.TimeBudget > 0 && time.Since(start) >= s.TimeBudget {
				last := &info.Adaptive[len(info.Adaptive)-1]
				last.Stopped = fmt.Sprintf("time budget %s spent after %d rounds", s.TimeBudget, trials[0].Rep)
				last.Trials -= len(trials)
				info.Planned -= ss.measured(trials)
				fmt.Fprintf(o.Log, "adaptive: %s\n", last.Stopped)
				return nil
			}
			if err := ss.run(ctx, trials[:n]); err != nil {
				return err
			}
			trials = trials[n:]
		}
	}
	return nil
}

// moreRounds plans rounds from+1 … to of the cells, interleaved as the
// scenario's own rounds are, without warmups (the platforms are warm). The
// order of a round's platforms rotates among the cells' own platforms, so
// that no platform always runs first.
func moreRounds(s *scenario.Scenario, cells []result.Cell, from, to int) []scenario.Trial {
	ext := *s
	ext.Repetitions, ext.Warmup = to, 0
	index := map[string]int{}
	for i, p := range s.Platforms {
		index[p.Name] = i
	}
	var out, group []scenario.Trial
	flush := func() {
		slices.SortFunc(group, func(a, b scenario.Trial) int { return index[a.Platform] - index[b.Platform] })
		for i := range group {
			t := group[(i+group[0].Rep)%len(group)]
			t.Seq, t.Params = len(out), maps.Clone(t.Params)
			out = append(out, t)
		}
		group = group[:0]
	}
	for _, t := range scenario.Plan(&ext) {
		if t.Rep < from || !slices.Contains(cells, t.Cell()) {
			continue
		}
		if len(group) > 0 && (group[0].Rep != t.Rep || group[0].Workload != t.Workload || group[0].Label != t.Label) {
			flush()
		}
		group = append(group, t)
	}
	if len(group) > 0 {
		flush()
	}
	return out
}
