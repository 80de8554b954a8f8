package kvm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/agent"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/workload"
)

// guest is one running QEMU process and the link to the agent inside it.
type guest struct {
	cfg      Config
	cmd      *exec.Cmd
	output   *capped // QEMU's own stdout and stderr
	link     *agent.Link
	exited   chan struct{}
	exitErr  error
	launched time.Time
	ready    time.Time
	hello    agent.Hello
	stopOnce sync.Once
	stopErr  error
	wedged   bool // its agent cannot answer: skip the poweroff request
}

// Timeouts of the shutdown sequence: the agent powers off, then QMP quit,
// then SIGKILL.
var (
	PoweroffGrace = 10 * time.Second
	QuitGrace     = 5 * time.Second
)

// launch starts QEMU with cfg and waits until the agent says hello or
// bootTimeout passes. On error the guest is already stopped.
func launch(ctx context.Context, qemuBin string, cfg Config, bootTimeout time.Duration) (*guest, error) {
	ln, err := net.Listen("unix", cfg.AgentSock)
	if err != nil {
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	defer ln.Close()
	g := &guest{cfg: cfg, output: &capped{max: 64 << 10}, exited: make(chan struct{})}
	g.cmd = exec.Command(qemuBin, Args(cfg)...)
	g.cmd.Stdout, g.cmd.Stderr = g.output, g.output
	// The logs go into the run directory, which may be a stored run's
	// (resumed, retried): opened as regular files only, never through a
	// link planted there; QEMU then appends to the console log it finds.
	if cfg.ConsoleLog != "" {
		f, err := safefs.OpenFile(filepath.Dir(cfg.ConsoleLog), filepath.Base(cfg.ConsoleLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("console log: %w", err)
		}
		f.Close()
	}
	if cfg.QEMULog != "" {
		// Kept whole in the run directory; the error quotes its end.
		log, err := safefs.OpenFile(filepath.Dir(cfg.QEMULog), filepath.Base(cfg.QEMULog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("QEMU log: %w", err)
		}
		defer log.Close() // the child holds its own copy
		g.cmd.Stdout, g.cmd.Stderr = log, log
		g.output.file = cfg.QEMULog
	}
	// Its own process group: a terminal's Ctrl-C reaches vmbench, which
	// shuts the guest down in order, not QEMU directly. Pdeathsig: a
	// vmbench killed with SIGKILL takes its guests with it.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	g.launched = time.Now()
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", qemuBin, err)
	}
	go func() {
		g.exitErr = g.cmd.Wait()
		close(g.exited)
	}()

	deadline := time.Now().Add(bootTimeout)
	bctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := accept(bctx, ln.(*net.UnixListener), g.exited)
	if err == nil {
		g.link = agent.NewLink(conn)
		var h agent.Hello
		if h, err = g.waitHello(bctx); err == nil {
			g.hello, g.ready = h, time.Now()
		}
	}
	if err != nil {
		// A QEMU that dies at once (a KVM it cannot use, say) closes the
		// agent link as it goes, and the link's EOF is usually seen first:
		// give its exit a moment, so that the error quotes QEMU's words.
		if !errors.Is(err, errQEMUExited) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			select {
			case <-g.exited:
				err = errQEMUExited
			case <-time.After(2 * time.Second):
			}
		}
		g.stop(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, g.explain(err, bootTimeout)
	}
	return g, nil
}

// accept waits for QEMU to connect its agent chardev to the host socket.
func accept(ctx context.Context, ln *net.UnixListener, exited <-chan struct{}) (net.Conn, error) {
	for {
		ln.SetDeadline(time.Now().Add(100 * time.Millisecond))
		conn, err := ln.Accept()
		if err == nil {
			return conn, nil
		}
		select {
		case <-exited:
			return nil, errQEMUExited
		case <-ctx.Done():
			return nil, ctx.Err()
		default:
		}
	}
}

var errQEMUExited = errors.New("QEMU exited")

func (g *guest) waitHello(ctx context.Context) (agent.Hello, error) {
	type res struct {
		h   agent.Hello
		err error
	}
	ch := make(chan res, 1)
	go func() {
		h, err := g.link.Hello(ctx)
		ch <- res{h, err}
	}()
	select {
	case r := <-ch:
		return r.h, r.err
	case <-g.exited:
		return agent.Hello{}, errQEMUExited
	}
}

// explain turns a boot failure into a message that says where to look.
func (g *guest) explain(err error, bootTimeout time.Duration) error {
	var why string
	switch {
	case errors.Is(err, errQEMUExited):
		why = fmt.Sprintf("QEMU exited (%v)", g.exitErr)
		if out := g.output.tail(3); out != "" {
			why += ": " + out
		}
	case errors.Is(err, context.DeadlineExceeded):
		why = fmt.Sprintf("the agent did not say hello within %s", bootTimeout)
	default:
		why = err.Error()
	}
	return fmt.Errorf("guest %s (accel %s): %s; console log: %s%s", g.cfg.Name, g.cfg.Accel, why, g.cfg.ConsoleLog, consoleTail(g.cfg.ConsoleLog))
}

// died describes a guest that went away during a trial.
func (g *guest) died() error {
	select {
	case <-g.exited:
		return fmt.Errorf("guest died (QEMU: %v); console log: %s%s", g.exitErr, g.cfg.ConsoleLog, consoleTail(g.cfg.ConsoleLog))
	case <-time.After(2 * time.Second):
		return fmt.Errorf("agent link to the guest closed; console log: %s%s", g.cfg.ConsoleLog, consoleTail(g.cfg.ConsoleLog))
	}
}

// ConsoleTail returns the last lines of a guest's console log, for error
// messages: " (last lines: a | b | c)", or "" when it has none.
func ConsoleTail(path string) string { return consoleTail(path) }

// consoleTail returns the last lines of the console, for error messages.
func consoleTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(ansi.ReplaceAllString(string(b), ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return " (last lines: " + strings.Join(lines, " | ") + ")"
}

// ansi matches the terminal escapes firmware writes to the serial console.
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[a-zA-Z]|c)`)

// stop shuts the guest down: the agent powers off, else QMP quit, else
// SIGKILL. It returns once QEMU has exited; it is idempotent.
func (g *guest) stop(ctx context.Context) error {
	g.stopOnce.Do(func() { g.stopErr = g.doStop(ctx) })
	return g.stopErr
}

func (g *guest) doStop(ctx context.Context) error {
	if g.link != nil {
		defer g.link.Close()
	}
	// Only an agent that said hello, and is not wedged, can power off.
	if !g.ready.IsZero() && !g.wedged {
		g.link.Shutdown()
		if g.waitExit(ctx, PoweroffGrace) {
			return nil
		}
	}
	if err := qmpCommand(g.cfg.QMPSock, "quit", nil, nil); err == nil && g.waitExit(ctx, QuitGrace) {
		return nil
	}
	g.cmd.Process.Kill()
	if g.waitExit(ctx, QuitGrace) {
		return nil
	}
	return fmt.Errorf("QEMU pid %d did not exit after SIGKILL", g.cmd.Process.Pid)
}

func (g *guest) waitExit(ctx context.Context, d time.Duration) bool {
	select {
	case <-g.exited:
		return true
	case <-time.After(d):
		return false
	case <-ctx.Done():
		return false
	}
}

// qmpCommand runs one QMP command with args (nil: none) and decodes its
// "return" into out.
func qmpCommand(sock, command string, args, out any) error {
	mon, err := qmp.NewSocketMonitor("unix", sock, 2*time.Second)
	if err != nil {
		return err
	}
	if err := mon.Connect(); err != nil {
		return err
	}
	defer mon.Disconnect()
	req, err := json.Marshal(struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
	}{command, args})
	if err != nil {
		return err
	}
	raw, err := mon.Run(req)
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	if out == nil {
		return nil
	}
	var resp struct {
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	return json.Unmarshal(resp.Return, out)
}

// pin binds each vCPU thread to a host CPU, vCPU i to cpus[i].
func (g *guest) pin(cpus []int) (string, error) {
	var vcpus []struct {
		Index    int `json:"cpu-index"`
		ThreadID int `json:"thread-id"`
	}
	if err := qmpCommand(g.cfg.QMPSock, "query-cpus-fast", nil, &vcpus); err != nil {
		return "", err
	}
	var done []string
	for _, v := range vcpus {
		if v.Index >= len(cpus) {
			continue
		}
		var set unix.CPUSet
		set.Set(cpus[v.Index])
		if err := unix.SchedSetaffinity(v.ThreadID, &set); err != nil {
			return "", fmt.Errorf("pin vCPU %d (thread %d) to CPU %d: %w", v.Index, v.ThreadID, cpus[v.Index], err)
		}
		// QEMU names a vCPU thread "CPU n/KVM" (or /TCG): -name debug-threads=on.
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", g.cmd.Process.Pid, v.ThreadID))
		done = append(done, fmt.Sprintf("vcpu%d (thread %d %q)→cpu%d", v.Index, v.ThreadID, strings.TrimSpace(string(comm)), cpus[v.Index]))
	}
	return strings.Join(done, " "), nil
}

// kvmStats returns KVM's statistics of the guest's vCPUs, each summed over
// the vCPUs (QMP query-stats, QEMU 7.1 and later); empty under TCG, which
// has no KVM provider. Histograms are left out.
func (g *guest) kvmStats() (map[string]float64, error) {
	var results []struct {
		Provider string `json:"provider"`
		Stats    []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"stats"`
	}
	if err := qmpCommand(g.cfg.QMPSock, "query-stats", map[string]string{"target": "vcpu"}, &results); err != nil {
		return nil, err
	}
	sum := map[string]float64{}
	for _, r := range results {
		if r.Provider != "kvm" {
			continue
		}
		for _, s := range r.Stats {
			var v uint64
			if json.Unmarshal(s.Value, &v) == nil {
				sum[s.Name] += float64(v)
			}
		}
	}
	return sum, nil
}

// exitMetrics are workload.KVMExitMetrics over d, from the vCPU statistics
// before and after; none when the statistics have no exit counter.
func exitMetrics(before, after map[string]float64, d time.Duration) []result.Metric {
	if _, ok := after["exits"]; !ok || d <= 0 {
		return nil
	}
	var out []result.Metric
	for _, m := range workload.KVMExitMetrics {
		stat := strings.TrimPrefix(m.Name, "kvm_")
		if a, ok := after[stat]; ok {
			out = append(out, result.Metric{Name: m.Name, Unit: m.Unit, Value: max(a-before[stat], 0) / d.Seconds()})
		}
	}
	return out
}

// capped is a buffer that keeps at most max bytes, the last ones; or,
// when file is set, QEMU wrote there instead.
type capped struct {
	mu   sync.Mutex
	buf  []byte
	max  int
	file string
}

// tail returns the last n non-empty lines QEMU printed, joined by " | ".
func (c *capped) tail(n int) string {
	out := c.String()
	if c.file != "" {
		b, _ := os.ReadFile(c.file)
		if len(b) > c.max {
			b = b[len(b)-c.max:]
		}
		out = string(b)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(len(lines)-n, 0):], " | ")
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	if len(c.buf) > c.max {
		c.buf = c.buf[len(c.buf)-c.max:]
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}
