package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in the scenario file, 1-based.
type Pos struct{ Line, Col int }

// Error is one problem in a scenario, located at file:line:col and named by
// its field path, e.g. "scenarios/x.yaml:9:13: platforms[1].vcpus: must be ≥ 1, got 0".
type Error struct {
	File string
	Pos  Pos
	Path string
	Msg  string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Col)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a scenario, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// unique drops repeated errors: a matrix decodes and validates its entry
// once per combination, and says each problem once.
func (es Errors) unique() Errors {
	var out Errors
	for _, e := range es {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}
