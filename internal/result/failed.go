package result

import (
	"fmt"
	"slices"
)

// FailedCells describes the cells whose every measured trial failed (warmups
// and density levels aside), in the order the samples first name them:
// "cpu threads=2 on vm: 8 of 8 trials failed, first: guest wedged".
func FailedCells(samples []Sample) []string {
	type count struct {
		trials, failed int
		first          string
	}
	var order []Cell
	at := map[Cell]*count{}
	for _, s := range samples {
		if s.Warmup || s.Level > 0 {
			continue
		}
		c := s.Cell()
		n := at[c]
		if n == nil {
			n = &count{}
			at[c] = n
			order = append(order, c)
		}
		n.trials++
		if s.Error != "" {
			if n.failed++; n.first == "" {
				n.first = s.Error
			}
		}
	}
	var out []string
	for _, c := range order {
		if n := at[c]; n.failed == n.trials {
			out = append(out, fmt.Sprintf("%s: %d of %d trials failed, first: %s", c, n.failed, n.trials, n.first))
		}
	}
	return slices.Clip(out)
}

// Boot is the pseudo-workload of the samples that record a platform's
// start (workload.Boot): they are not trials of the plan.
const Boot = "boot"

// Missing says what a run's samples lack against its plan: trials that
// run.json planned and samples.jsonl does not hold (a cut or edited file,
// a killed run). "" when nothing is missing, nothing was planned, or the
// run was interrupted (and says so).
func Missing(info RunInfo, samples []Sample) string {
	if info.Planned == 0 {
		return ""
	}
	have := 0
	for _, s := range samples {
		if s.Type != Boot && s.Level == 0 && !s.Warmup {
			have++
		}
	}
	switch {
	case have >= info.Planned || info.Interrupted: // an interrupted run says so itself
		return ""
	case info.End.IsZero():
		return fmt.Sprintf("run.json records no end: the run was killed (or still runs); samples.jsonl holds %d of the %d trials planned, and vmbench run --resume runs the rest", have, info.Planned)
	}
	return fmt.Sprintf("samples.jsonl holds %d of the %d trials run.json planned, %d missing (the file was cut or edited): every figure rests on what is there", have, info.Planned, info.Planned-have)
}
