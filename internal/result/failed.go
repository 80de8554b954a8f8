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
