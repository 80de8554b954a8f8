package network

import (
	"context"
	"testing"

	"github.com/vmbench/vmbench/internal/workload"
)

// The server and the client over loopback, as on the native platform.
func TestStreamAndRoundTripsOverLoopback(t *testing.T) {
	for _, given := range []map[string]string{
		{"mode": "stream", "connections": "2"},
		{"mode": "rr"},
		{"mode": "rr", "size": "4KiB", "connections": "3"},
	} {
		given["duration"] = "200ms"
		p, errs := workload.Complete(Workload{}, given)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		ctx := context.Background()
		served := make(chan workload.Result, 1)
		go func() {
			res, err := Workload{}.Run(ctx, p)
			if err != nil {
				t.Errorf("server: %v", err)
			}
			served <- res
		}()
		res, err := Workload{}.Client(ctx, "127.0.0.1", p)
		if err != nil {
			t.Fatalf("%v: client: %v", given, err)
		}
		srv := <-served
		m := map[string]float64{}
		for _, x := range res.Metrics {
			m[x.Name] = x.Value
		}
		t.Logf("%v: %v", given, m)
		if given["mode"] == "stream" {
			// The server received every byte the client sent.
			if m["bandwidth"] <= 0 || srv.Work != res.Work {
				t.Errorf("stream: bandwidth %g, sent %g, received %g", m["bandwidth"], res.Work, srv.Work)
			}
			continue
		}
		h := res.Histograms["latency"]
		if m["rate"] <= 0 || h == nil || m["p50"] <= 0 || m["p99_9"] < m["p50"] {
			t.Errorf("rr: %v, histogram %v", m, h)
		}
		// Each round trip carries the message both ways; the server
		// received one of them.
		if srv.Work*2 != res.Work || uint64(res.Work)/uint64(2*msgSize(p)) != h.Count() {
			t.Errorf("rr: client work %g, server received %g, %d round trips", res.Work, srv.Work, h.Count())
		}
	}
}

// A client whose server never listens gives up when its context ends.
func TestClientWithoutServer(t *testing.T) {
	p, _ := workload.Complete(Workload{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Workload{}).Client(ctx, "127.0.0.1", p); err == nil {
		t.Fatal("want an error")
	}
}
