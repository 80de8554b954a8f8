// Package network is the built-in TCP workload "net": the path a user's
// clients take into a platform. The server runs where the platform puts the
// agent (a host process, a container behind a veth on vmbench's bridge, a
// guest behind a tap); the client runs on the host, in the vmbench process,
// and does the measuring. Two modes, as netperf and iperf3 have them:
// stream (bulk transfer, client to server, bytes per second) and rr
// (request/response: a message to the server and back, every round trip
// timed into a latency histogram).
package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Port is the TCP port the server listens on.
const Port = 47201

// Workload is the net workload.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Client   = Workload{}
)

func (Workload) Name() string { return "net" }

func (Workload) Describe() string {
	return "TCP from a client on the host to a server in the platform (loopback, veth on a bridge, tap on a bridge): stream (B/s) or rr (round-trip latency)"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "mode", Kind: workload.Enum, Choices: []string{"stream", "rr"}, Default: "stream", Help: "stream: bulk transfer to the server; rr: a message to the server and back, one at a time per connection"},
		{Name: "size", Kind: workload.Size, Default: "0", Min: 0, Max: 64 << 20, Help: "bytes per write (stream) or per message (rr); 0: 128KiB for stream (iperf3's default), 1 byte for rr (netperf's TCP_RR)"},
		{Name: "connections", Kind: workload.Int, Default: "1", Min: 1, Max: 256, Help: "parallel TCP connections"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(10 * time.Millisecond), Help: "how long the client sends"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	out := []workload.MetricInfo{
		{Name: "bandwidth", Unit: "B/s", Help: "stream: bytes the client sent per second, all connections", Resource: workload.ResNetTput},
		{Name: "rate", Unit: "ops/s", Help: "rr: round trips per second, all connections"},
		{Name: "latency", Unit: "s", Help: "rr: mean round-trip time", Resource: workload.ResNetLat},
	}
	return append(out, workload.PercentileInfo("rr: %g%% of the round trips took at most this", workload.ResNetLat)...)
}

func (Workload) Validate(workload.Params) error { return nil }

// msgSize is the size param with its mode's default.
func msgSize(p workload.Params) int {
	if n := p.Size("size"); n > 0 {
		return int(n)
	}
	if p["mode"] == "rr" {
		return 1
	}
	return 128 << 10
}

// acceptWait bounds how long the server waits for its clients: a guest's
// container can take seconds to start under TCG, and the client dials until
// the server listens.
const acceptWait = time.Minute

// Run is the server: it accepts the client's connections, sinks (stream)
// or echoes (rr) what they send until they close, and returns the bytes it
// received as the trial's work.
func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(workload.ListenAddr(), strconv.Itoa(Port)))
	if err != nil {
		return workload.Result{}, fmt.Errorf("listen: %w", err)
	}
	n := p.Int("connections")
	size := msgSize(p)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		received int64
		errs     []error
		conns    []net.Conn
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(acceptWait + p.Duration("duration")))
	for range n {
		c, err := ln.Accept()
		if err != nil {
			ln.Close()
			wg.Wait()
			if ctx.Err() != nil {
				return workload.Result{}, ctx.Err()
			}
			return workload.Result{}, fmt.Errorf("accept: %w", err)
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			got, err := serve(c, p["mode"], size)
			mu.Lock()
			received += got
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		}()
	}
	ln.Close()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return workload.Result{}, err
	}
	// The client measures; what the server received is for checking it.
	return workload.Result{Work: float64(received), Metrics: []result.Metric{{Name: "received", Unit: "B", Value: float64(received)}}}, errors.Join(errs...)
}

// serve handles one connection until the client closes it.
func serve(c net.Conn, mode string, size int) (int64, error) {
	if mode == "stream" {
		return io.Copy(io.Discard, c)
	}
	buf := make([]byte, size)
	var got int64
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		got += int64(size)
		if _, err := c.Write(buf); err != nil {
			return got, err
		}
	}
}

// stall is how long after the trial's end the client waits for the last
// write or reply.
const stall = 10 * time.Second

// dialWait bounds how long the client keeps dialing a server that does not
// listen yet.
const dialWait = time.Minute

// Port is the port the server listens on.
func (Workload) Port(workload.Params) int { return Port }

// Client runs on the host against the server at addr.
func (Workload) Client(ctx context.Context, addr string, p workload.Params) (workload.Result, error) {
	n := p.Int("connections")
	target := net.JoinHostPort(addr, strconv.Itoa(Port))
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(dialWait)
	for len(conns) < n {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err == nil {
			conns = append(conns, c)
			continue
		}
		if ctx.Err() != nil {
			return workload.Result{}, ctx.Err()
		}
		if time.Now().After(deadline) {
			return workload.Result{}, fmt.Errorf("the server at %s did not accept within %s: %w", target, dialWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.Close()
		}
	})
	defer stop()
	size := msgSize(p)
	d := p.Duration("duration")
	counts := make([]int64, n)
	hists := make([]*hist.Hist, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i, c := range conns {
		// A server that stops reading or answering fails the trial, with
		// a timeout error, instead of hanging it until the scenario's.
		c.SetDeadline(end.Add(stall))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p["mode"] == "stream" {
				counts[i], errs[i] = send(c, size, end)
			} else {
				hists[i] = hist.New()
				counts[i], errs[i] = roundTrips(c, size, end, hists[i])
			}
			c.(*net.TCPConn).CloseWrite() // the server sees EOF
		}()
	}
	wg.Wait()
	took := time.Since(start).Seconds()
	// Not ctx.Err(): the server may end as soon as the connections close,
	// and a cancel after that does not spoil what was measured. A cancel
	// during the trial closed the connections, which errs holds.
	if err := errors.Join(errs...); err != nil {
		return workload.Result{}, err
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	if p["mode"] == "stream" {
		return workload.Result{Work: float64(total), Metrics: []result.Metric{{Name: "bandwidth", Unit: "B/s", Value: float64(total) / took}}}, nil
	}
	h := hist.New()
	for _, x := range hists {
		h.Merge(x)
	}
	res := workload.Result{
		Work: float64(2 * total * int64(size)),
		Metrics: []result.Metric{
			{Name: "rate", Unit: "ops/s", Value: float64(total) / took},
			{Name: "latency", Unit: "s", Value: h.Mean()},
		},
		Histograms: map[string]*hist.Hist{"latency": h},
	}
	res.Metrics = append(res.Metrics, workload.QuantileMetrics(h)...)
	return res, nil
}

// send writes size-byte buffers to c until end; it returns the bytes sent.
func send(c net.Conn, size int, end time.Time) (int64, error) {
	buf := make([]byte, size)
	var sent int64
	for time.Now().Before(end) {
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// roundTrips sends a message and reads it back until end, timing each.
func roundTrips(c net.Conn, size int, end time.Time, h *hist.Hist) (int64, error) {
	buf := make([]byte, size)
	var n int64
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			return n, nil
		}
		if _, err := c.Write(buf); err != nil {
			return n, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return n, err
		}
		h.Record(int64(time.Since(t0)))
		n++
	}
}
