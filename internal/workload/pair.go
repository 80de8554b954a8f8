package workload

import (
	"context"
	"fmt"
)

// Pair runs a client workload's two halves: server, in the platform, and
// client, against it. Each runs under its own context:
//   - a server that fails stops its client, and its error is the trial's;
//   - a client that fails stops its server, and its error is the trial's;
//   - a client that is done stops a server that does not end by itself
//     (stops, see ServerStopper), and a server stopped so has succeeded;
//   - a server that ends well does not stop its client: iperf3 -s -1 exits
//     on the client's last message, before the client has printed its
//     report, and under load the server's end is seen first.
//
// The server's output is returned also on error: it holds what the server
// cost.
func Pair[S any](ctx context.Context, server func(context.Context) (S, error), client func(context.Context) (res Result, stops bool, err error)) (S, Result, error) {
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	cctx, stopClient := context.WithCancel(ctx)
	defer stopClient()
	type served struct {
		out    S
		err    error
		failed bool // by itself, not stopped for its client
	}
	done := make(chan served, 1)
	go func() {
		out, err := server(sctx)
		failed := err != nil && sctx.Err() == nil
		if failed {
			stopClient()
		}
		done <- served{out, err, failed}
	}()
	res, stops, cerr := client(cctx)
	stopped := cerr == nil && stops
	if cerr != nil || stopped {
		stopServer()
	}
	srv := <-done
	switch {
	case cerr != nil && srv.failed:
		return srv.out, res, fmt.Errorf("server: %w", srv.err)
	case cerr != nil:
		return srv.out, res, fmt.Errorf("client: %w", cerr)
	case srv.err != nil && !stopped:
		return srv.out, res, fmt.Errorf("server: %w", srv.err)
	}
	return srv.out, res, nil
}
