package workload

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestClientOutlivesItsServer: a server that ends well before its client
// has finished does not stop the client, as iperf3's server (-s -1) ends
// before its client has printed its report.
func TestClientOutlivesItsServer(t *testing.T) {
	for range 100 {
		end, ended := make(chan struct{}), make(chan struct{})
		server := func(context.Context) (int, error) {
			<-end
			close(ended)
			return 7, nil
		}
		client := func(ctx context.Context) (Result, bool, error) {
			close(end)
			<-ended // the server has ended; the client prints its report
			return Result{Work: 1}, false, ctx.Err()
		}
		cost, res, err := Pair(context.Background(), server, client)
		if err != nil {
			t.Fatalf("the client was stopped when its server ended well: %v", err)
		}
		if cost != 7 || res.Work != 1 {
			t.Fatalf("server %d, client %+v: want the server's output and the client's result", cost, res)
		}
	}
}

// TestFailedServerIsTheCause: a server that fails stops its client, and
// the trial's error is the server's, not the client's "context canceled".
func TestFailedServerIsTheCause(t *testing.T) {
	server := func(context.Context) (int, error) { return 3, errors.New("bind: address in use") }
	client := func(ctx context.Context) (Result, bool, error) {
		<-ctx.Done()
		return Result{}, false, ctx.Err()
	}
	cost, _, err := Pair(context.Background(), server, client)
	if err == nil || err.Error() != "server: bind: address in use" || cost != 3 {
		t.Fatalf("error %v, cost %d: want the server's error and its cost", err, cost)
	}
}

// TestFailedClientStopsItsServer: a client that fails stops the server,
// and the error is the client's.
func TestFailedClientStopsItsServer(t *testing.T) {
	server := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	client := func(context.Context) (Result, bool, error) { return Result{}, false, errors.New("connection refused") }
	_, _, err := Pair(context.Background(), server, client)
	if err == nil || !strings.HasPrefix(err.Error(), "client: connection refused") {
		t.Fatalf("error %v, want the client's", err)
	}
}

// TestStoppedServerSucceeds: a server that does not end by itself is
// stopped once its client is done, and has succeeded.
func TestStoppedServerSucceeds(t *testing.T) {
	server := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 5, ctx.Err()
	}
	client := func(context.Context) (Result, bool, error) { return Result{Work: 2}, true, nil }
	cost, res, err := Pair(context.Background(), server, client)
	if err != nil || cost != 5 || res.Work != 2 {
		t.Fatalf("cost %d, result %+v, error %v: want a success", cost, res, err)
	}
}
