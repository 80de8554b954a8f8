// Package redis is the adapter of redis-benchmark against a redis-server
// in the platform: the server runs where the platform puts the agent, the
// benchmark on the host, over the same path as net's clients (loopback, a
// veth on vmbench's bridge, a guest's tap).
package redis

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Port is the port redis-server listens on.
const Port = 46379 // not 6379: a host may run its own redis

// Workload is the redis adapter.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
	_ workload.Client   = Workload{}
)

func (Workload) Name() string       { return "redis" }
func (Workload) Packages() []string { return []string{"redis-server", "redis-tools"} }
func (Workload) Programs() []string { return []string{"redis-server"} }

func (Workload) Describe() string {
	return "redis-benchmark on the host against redis-server in the platform (no persistence)"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "test", Kind: workload.Enum, Choices: []string{"get", "set", "incr", "lpush"}, Default: "get", Help: "redis-benchmark -t"},
		{Name: "requests", Kind: workload.Int, Default: "100000", Min: 100, Max: 1 << 30, Help: "redis-benchmark -n"},
		{Name: "clients", Kind: workload.Int, Default: "50", Min: 1, Max: 10000, Help: "parallel connections (-c)"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{
		{Name: "rate", Unit: "ops/s", Help: "requests per second", Resource: workload.ResNetTput},
		{Name: "latency", Unit: "s", Help: "mean request latency"},
		{Name: "p50", Unit: "s", Help: "median request latency"},
		{Name: "p95", Unit: "s", Help: "95th percentile request latency"},
		{Name: "p99", Unit: "s", Help: "99th percentile request latency", Resource: workload.ResNetLat},
	}
}

func (Workload) Validate(workload.Params) error { return nil }

// ServerArgs and ClientArgs build the command lines.
func ServerArgs() []string {
	return []string{"--port", strconv.Itoa(Port), "--bind", workload.ListenAddr(), "--protected-mode", "no", "--save", "", "--appendonly", "no", "--daemonize", "no"}
}

func ClientArgs(p workload.Params, addr string) []string {
	return []string{"-h", addr, "-p", strconv.Itoa(Port), "-t", p["test"], "-n", p["requests"], "-c", p["clients"], "--csv"}
}

// Run is the server: redis-server, until the client shuts it down.
func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	start := time.Now()
	if _, err := workload.RunTool(ctx, "redis-server", ServerArgs()...); err != nil {
		return workload.Result{}, err
	}
	return workload.Result{Metrics: []result.Metric{{Name: "served", Unit: "s", Value: time.Since(start).Seconds()}}}, nil
}

const dialWait = time.Minute

// Port is the port the server listens on.
func (Workload) Port(workload.Params) int { return Port }

// Client waits for the server to answer PING, runs redis-benchmark, and
// shuts the server down.
func (Workload) Client(ctx context.Context, addr string, p workload.Params) (workload.Result, error) {
	target := net.JoinHostPort(addr, strconv.Itoa(Port))
	if err := command(ctx, target, "PING", "+PONG", dialWait); err != nil {
		return workload.Result{}, err
	}
	defer command(context.WithoutCancel(ctx), target, "SHUTDOWN NOSAVE", "", 10*time.Second)
	out, err := workload.RunTool(ctx, "redis-benchmark", ClientArgs(p, addr)...)
	if err != nil {
		return workload.Result{}, err
	}
	return Parse(out)
}

// command sends one inline command and, when want is set, checks the
// reply's first line, dialing until within.
func command(ctx context.Context, target, cmd, want string, within time.Duration) error {
	err := workload.Retry(ctx, within, func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%s\r\n", cmd)
		line, rerr := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if want != "" && strings.TrimSpace(line) != want {
			return fmt.Errorf("%s: got %q (%v)", cmd, line, rerr)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("redis-server at %s: %w", target, err)
	}
	return err
}

// Parse reads redis-benchmark's CSV: one test, latencies in milliseconds.
func Parse(out []byte) (workload.Result, error) {
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		return workload.Result{}, fmt.Errorf("redis-benchmark output: %w", err)
	}
	if len(rows) != 2 {
		return workload.Result{}, fmt.Errorf("redis-benchmark output: %d rows, want a header and one test", len(rows))
	}
	col := map[string]float64{}
	for i, name := range rows[0] {
		if i < len(rows[1]) {
			col[name], _ = strconv.ParseFloat(rows[1][i], 64)
		}
	}
	if col["rps"] <= 0 {
		return workload.Result{}, fmt.Errorf("redis-benchmark output: no rps")
	}
	return workload.Result{Metrics: []result.Metric{
		{Name: "rate", Unit: "ops/s", Value: col["rps"]},
		{Name: "latency", Unit: "s", Value: col["avg_latency_ms"] / 1e3},
		{Name: "p50", Unit: "s", Value: col["p50_latency_ms"] / 1e3},
		{Name: "p95", Unit: "s", Value: col["p95_latency_ms"] / 1e3},
		{Name: "p99", Unit: "s", Value: col["p99_latency_ms"] / 1e3},
	}}, nil
}
