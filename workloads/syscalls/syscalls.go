// Package syscalls is the built-in system call workload: the cost of
// entering the kernel (getppid, a null call), and of a round trip through a pipe to
// another process and back (two system calls and two context switches each
// way), where a hypervisor's exits and a container's seccomp filter show.
package syscalls

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Workload is the syscall workload.
type Workload struct{}

var _ workload.Workload = Workload{}

func (Workload) Name() string { return "syscall" }

func (Workload) Describe() string {
	return "system call latency: getppid (a null call, timed in batches of 256) or pipe (1-byte ping-pong with a child process, every round trip timed)"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "kind", Kind: workload.Enum, Choices: []string{"getppid", "pipe"}, Default: "getppid", Help: "getppid: a system call that does almost nothing (a null call); pipe: a round trip to another process"},
		{Name: "duration", Kind: workload.Duration, Default: "1s", Min: int64(10 * time.Millisecond), Help: "how long one trial works"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	out := []workload.MetricInfo{
		{Name: "latency", Unit: "s", Help: "mean time of one call (getppid) or one round trip (pipe)", Resource: workload.ResSyscall},
		{Name: "rate", Unit: "ops/s", Help: "calls or round trips per second"},
	}
	out = append(out, workload.PercentileInfo("%g%% of the calls or round trips took at most this (getppid: of 256-call batch means)", "")...)
	return out
}

func (Workload) Validate(workload.Params) error { return nil }

// batch is how many null calls are timed together: one call (about 100 ns
// on a host) is too close to the clock's own cost to time alone.
const batch = 256

func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	d := p.Duration("duration")
	h := hist.New()
	var n int64
	var elapsed time.Duration
	switch p["kind"] {
	case "getppid":
		var count int64
		count, elapsed = workload.Deadline(ctx, d, func() {
			t0 := time.Now()
			for range batch {
				unix.Getppid()
			}
			h.RecordN(int64(time.Since(t0))/batch, batch)
		})
		n = count * batch
	case "pipe":
		var err error
		n, elapsed, err = pingPong(ctx, d, h)
		if err != nil {
			return workload.Result{}, err
		}
	default:
		return workload.Result{}, fmt.Errorf("kind %q is unknown", p["kind"])
	}
	if err := ctx.Err(); err != nil {
		return workload.Result{}, err
	}
	metrics := []result.Metric{
		{Name: "latency", Unit: "s", Value: elapsed.Seconds() / float64(n)},
		{Name: "rate", Unit: "ops/s", Value: float64(n) / elapsed.Seconds()},
	}
	metrics = append(metrics, workload.QuantileMetrics(h)...)
	return workload.Result{Metrics: metrics, Histograms: map[string]*hist.Hist{"latency": h}}, nil
}

// EchoArgs are the arguments (after the binary) that make vmbench echo
// its standard input to its standard output: the other end of the pipe.
var EchoArgs = []string{"agent", "echo"}

// Echo copies standard input to standard output one byte at a time, with
// plain blocking read and write calls, until the input ends.
func Echo() error {
	var b [1]byte
	for {
		n, err := unix.Read(0, b[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return nil
		}
		if _, err := unix.Write(1, b[:]); err != nil {
			return err
		}
	}
}

// pingPong starts this binary as the echo process and times 1-byte round
// trips through two pipes until d has passed, with blocking read and write
// calls on both sides (as lmbench's lat_pipe), not Go's poller.
func pingPong(ctx context.Context, d time.Duration, h *hist.Hist) (int64, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	var toChild, fromChild [2]int
	if err := unix.Pipe2(toChild[:], unix.O_CLOEXEC); err != nil {
		return 0, 0, err
	}
	if err := unix.Pipe2(fromChild[:], unix.O_CLOEXEC); err != nil {
		unix.Close(toChild[0])
		unix.Close(toChild[1])
		return 0, 0, err
	}
	defer unix.Close(fromChild[0])
	childIn, childOut := os.NewFile(uintptr(toChild[0]), "echo-in"), os.NewFile(uintptr(fromChild[1]), "echo-out")
	cmd := exec.Command(self, EchoArgs...)
	cmd.Stdin, cmd.Stdout = childIn, childOut
	err = cmd.Start()
	childIn.Close()
	childOut.Close()
	if err != nil {
		unix.Close(toChild[1])
		return 0, 0, fmt.Errorf("start the echo process: %w", err)
	}
	defer cmd.Wait()
	defer unix.Close(toChild[1]) // the echo process sees the end of its input
	b := []byte{'x'}
	roundTrip := func() error {
		if _, err := unix.Write(toChild[1], b); err != nil {
			return err
		}
		for {
			n, err := unix.Read(fromChild[0], b)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil || n != 1:
				return fmt.Errorf("read %d bytes: %v", n, err)
			}
			return nil
		}
	}
	// The first round trip waits for the echo process to start: untimed.
	if err := roundTrip(); err != nil {
		return 0, 0, fmt.Errorf("round trip to the echo process: %w", err)
	}
	var failed error
	n, elapsed := workload.Deadline(ctx, d, func() {
		if failed != nil {
			return
		}
		t0 := time.Now()
		if failed = roundTrip(); failed == nil {
			h.Record(int64(time.Since(t0)))
		}
	})
	if failed != nil {
		return 0, 0, fmt.Errorf("round trip to the echo process: %w", failed)
	}
	return n, elapsed, nil
}
