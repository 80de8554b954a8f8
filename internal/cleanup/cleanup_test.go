package cleanup

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestStackRunsLIFOOnceAndCollectsErrors(t *testing.T) {
	var s Stack
	var order []string
	for _, name := range []string{"a", "b", "c"} {
		s.Push(name, func(context.Context) error {
			order = append(order, name)
			if name == "b" {
				return errors.New("boom")
			}
			return nil
		})
	}
	err := s.Run(context.Background())
	if got := strings.Join(order, ""); got != "cba" {
		t.Errorf("order %q, want cba", got)
	}
	if err == nil || !strings.Contains(err.Error(), "undo b: boom") {
		t.Errorf("err = %v", err)
	}
	if err := s.Run(context.Background()); err != nil || len(order) != 3 {
		t.Errorf("second Run ran again: %v %v", order, err)
	}
}
