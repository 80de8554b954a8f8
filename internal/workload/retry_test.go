package workload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	n := 0
	if err := Retry(context.Background(), time.Second, func() error {
		if n++; n < 3 {
			return errors.New("refused")
		}
		return nil
	}); err != nil || n != 3 {
		t.Errorf("third try succeeds: %v after %d", err, n)
	}
	err := Retry(context.Background(), 120*time.Millisecond, func() error { return errors.New("refused") })
	if err == nil || !strings.Contains(err.Error(), "no answer within 120ms: refused") {
		t.Errorf("deadline: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Retry(ctx, time.Minute, func() error { return errors.New("refused") }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
