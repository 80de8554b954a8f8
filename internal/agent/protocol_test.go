package agent

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

func pair(t *testing.T, h Handler) (*Link, chan error) {
	t.Helper()
	host, guest := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), guest, Hello{Kernel: "6.1", CPUs: 2}, h) }()
	l := NewLink(host)
	t.Cleanup(func() { l.Close(); guest.Close() })
	return l, served
}

func ok(ctx context.Context, req Request, container bool) Response {
	v := 1.0
	if container {
		v = 2
	}
	return Response{Result: workload.Result{Metrics: []result.Metric{{Name: req.Type, Unit: "B/s", Value: v}}}}
}

func TestHelloRunShutdown(t *testing.T) {
	l, served := pair(t, ok)
	ctx := context.Background()
	h, err := l.Hello(ctx)
	if err != nil || h.Kernel != "6.1" || h.CPUs != 2 {
		t.Fatalf("hello %+v %v", h, err)
	}
	res, err := l.Run(ctx, Request{Type: "cpu"}, true)
	if err != nil || res.Metrics[0].Name != "cpu" || res.Metrics[0].Value != 2 {
		t.Fatalf("run %+v %v", res, err)
	}
	res, err = l.Run(ctx, Request{Type: "memory"}, false)
	if err != nil || res.Metrics[0].Value != 1 {
		t.Fatalf("second run %+v %v", res, err)
	}
	l.Shutdown()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v after shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
}

func TestWorkloadErrorComesBack(t *testing.T) {
	l, _ := pair(t, func(context.Context, Request, bool) Response { return Response{Error: "boom"} })
	l.Hello(context.Background())
	if _, err := l.Run(context.Background(), Request{Type: "cpu"}, true); err == nil || err.Error() != "boom" {
		t.Errorf("err = %v", err)
	}
}

func TestCancelStopsTheGuestRun(t *testing.T) {
	stopped := make(chan struct{})
	l, _ := pair(t, func(ctx context.Context, _ Request, _ bool) Response {
		<-ctx.Done()
		close(stopped)
		return Response{Error: "cancelled"}
	})
	l.Hello(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := l.Run(ctx, Request{Type: "cpu"}, true)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the guest handler was not cancelled")
	}
}

func TestGuestGoneFailsTheRun(t *testing.T) {
	host, guest := net.Pipe()
	l := NewLink(host)
	defer l.Close()
	go func() {
		Serve(context.Background(), guestThatDies{guest}, Hello{}, ok)
	}()
	l.Hello(context.Background())
	_, err := l.Run(context.Background(), Request{Type: "cpu"}, true)
	if !errors.Is(err, ErrLinkClosed) {
		t.Errorf("err = %v, want ErrLinkClosed", err)
	}
}

// guestThatDies closes the connection when the first request arrives.
type guestThatDies struct{ net.Conn }

func (g guestThatDies) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 {
		g.Conn.Close()
		return 0, errors.New("guest died")
	}
	return n, err
}
