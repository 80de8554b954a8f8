// Package workload defines what a workload is: a named piece of work with
// declared parameters, checked on the host when the scenario is loaded and run
// by the agent wherever the platform places it. The implementations live in
// workloads/<name>; the table of them is workloads.All.
package workload

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/hist"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/units"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// Workload is one kind of work the agent can run.
type Workload interface {
	Name() string
	Describe() string
	Params() []Param
	Metrics() []MetricInfo
	// Validate checks combinations of parameters that Param cannot express.
	// It runs at scenario load time on complete, individually valid params.
	Validate(p Params) error
	// Run does the work once and returns its metrics in base units.
	// It returns promptly when ctx is cancelled.
	Run(ctx context.Context, p Params) (Result, error)
}

// Client is implemented by workloads that measure from the host: Run is
// the server, which the agent runs in the platform, and Client, run by the
// runner on the host at the same time, connects to it at addr (the
// platform's address) and returns the trial's metrics.
type Client interface {
	Client(ctx context.Context, addr string, p Params) (Result, error)
	// Port is the TCP port the server listens on, which an engine
	// publishes for the client (docker run -p); 0: with these parameters
	// the workload has no server, and runs as any other.
	Port(p Params) int
}

// ServerStopper is implemented by client workloads whose server does not
// end by itself: once the client is done, the trial stops the server, and
// a server stopped that way has succeeded.
type ServerStopper interface {
	StopsServer()
}

// ScratchUser is implemented by workloads that use the platform's scratch
// area (a guest's scratch disk): Scratch is how many bytes of it params need.
type ScratchUser interface {
	Scratch(p Params) int64
}

// Tool is implemented by workloads that run an external program (fio,
// sysbench, …): containers and guests run them in vmbench's tools rootfs,
// native on the host's own installation.
type Tool interface {
	// Packages are the Debian packages the tools rootfs needs for it.
	Packages() []string
	// Programs are the commands it runs in the platform, which an
	// imported tools rootfs must have.
	Programs() []string
}

// RunTool runs an external tool and returns its standard output; a failure
// carries the end of its standard error.
func RunTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found in PATH: on native, install it (apt-get install -y %s); containers and guests get it from vmbench's tools rootfs", name, name)
	}
	var stdout, stderr Output
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 400 {
			msg = "…" + msg[len(msg)-400:]
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// FirstLines is how a failure quotes a program's output: its first n
// lines, each of at most 200 bytes, joined on one line.
func FirstLines(out []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(out)), "\n", n+1)
	lines = lines[:min(n, len(lines))]
	for i, l := range lines {
		lines[i] = untrusted.Cap(l, 200)
	}
	return strings.Join(lines, " | ")
}

// MaxOutput bounds what is kept of a program's output (its head and its
// tail): a tool's or an app's output is read for a few numbers, and an app
// that prints without end must not fill the agent's memory, the guest
// link (16 MiB a message) or every report, nor make a metric's regex run
// for a minute.
const MaxOutput = 1 << 20

// Output collects a program's output, keeping at most MaxOutput bytes:
// the first half, and the last half of what follows.
type Output struct {
	head, tail []byte
	cut        int
}

func (o *Output) Write(p []byte) (int, error) {
	n := len(p)
	if room := MaxOutput/2 - len(o.head); room > 0 {
		k := min(room, len(p))
		o.head, p = append(o.head, p[:k]...), p[k:]
	}
	if len(p) > 0 {
		o.tail = append(o.tail, p...)
		if over := len(o.tail) - MaxOutput/2; over > MaxOutput/2 { // drop in large steps: amortized
			o.tail, o.cut = append(o.tail[:0:0], o.tail[over:]...), o.cut+over
		}
	}
	return n, nil
}

// Bytes is what was kept; when some was dropped, a line between head and
// tail says how much.
func (o *Output) Bytes() []byte {
	tail := o.tail
	cut := o.cut
	if over := len(tail) - MaxOutput/2; over > 0 {
		tail, cut = tail[over:], cut+over
	}
	if cut == 0 {
		return append(o.head[:len(o.head):len(o.head)], tail...)
	}
	return slices.Concat(o.head, []byte(fmt.Sprintf("\n…[%d bytes of output cut]…\n", cut)), tail)
}

// String is Bytes as a string.
func (o *Output) String() string { return string(o.Bytes()) }

// Retry calls try every 50ms until it succeeds, ctx ends (its error), or
// within has passed (try's last error, with how long it tried): a client
// waiting for a server that is still starting in its platform.
func Retry(ctx context.Context, within time.Duration, try func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := try()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("no answer within %s: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ListenEnv names the environment variable in which a platform that shares
// the host's network (native) tells a server workload the address to
// listen on: a loopback address of its own, so that two runs at once, or
// the instances of a density sweep, do not meet on one port. Unset: every
// address (the platform's network namespace is its own).
const ListenEnv = "VMBENCH_LISTEN"

// ListenAddr is the address a server workload listens on.
func ListenAddr() string {
	if a := os.Getenv(ListenEnv); a != "" {
		return a
	}
	return "0.0.0.0"
}

// AppRootEnv names the environment variable in which the native platform
// tells the app workload where the user's image is: its command runs
// chrooted into it. Containers and guests already run the agent in it.
const AppRootEnv = "VMBENCH_APP_ROOT"

// ScratchEnv names the environment variable in which the platform tells the
// agent where its scratch area is: a directory on the host filesystem, or
// a guest's scratch disk.
const ScratchEnv = "VMBENCH_SCRATCH"

// Result is what one run of a workload measured, plus anything a reader of
// the numbers should be told about how they were obtained.
type Result struct {
	Metrics  []result.Metric `json:"metrics"`
	Warnings []string        `json:"warnings,omitempty"`
	// Work is how much the trial did, in bytes (hashed, moved): what the
	// host's CPU time is divided by to give the cost of a unit of work.
	Work float64 `json:"work_bytes,omitempty"`
	// Series is what a guest's agent sampled of its own machine during the
	// trial (the guest's view), when the host asked for it.
	Series []collect.Series `json:"series,omitempty"`
	// Profile is the trial's CPU profile in pprof format, when asked for.
	Profile []byte `json:"profile,omitempty"`
	// Histograms hold every latency the trial recorded, by name.
	Histograms map[string]*hist.Hist `json:"histograms,omitempty"`
	// Conditions are facts about how the workload ran that change how its
	// numbers read (the memory kernels' vector=avx512): the sample's
	// conditions, beside the platform's.
	Conditions map[string]string `json:"conditions,omitempty"`
}

// Kind is how a parameter's value is written.
type Kind string

const (
	Int      Kind = "int"
	Size     Kind = "size"
	Duration Kind = "duration"
	Enum     Kind = "enum"
	Text     Kind = "text" // any string: the app workload's spec
)

// Param declares one parameter.
type Param struct {
	Name    string
	Kind    Kind
	Help    string
	Default string
	// DefaultFunc, when set, computes the default on the host at load time,
	// so that every platform receives the same value.
	DefaultFunc func() string
	Choices     []string // for Enum
	Min, Max    int64    // for Int and Size (bytes) and Duration (ns); Max 0 means none
}

// CostMetrics are what the runner adds to every successful trial from the
// platform's HostCPU and the workload's Work: what the trial cost the host.
var CostMetrics = []MetricInfo{
	{Name: "host_cpu", Unit: "s", Help: "host CPU time of the trial, user plus system, every process included (the agent; runc and the container; all of QEMU's threads), start-up included"},
	{Name: "host_cpu_per_GB", Unit: "s/GB", Help: "host CPU-seconds per 10⁹ bytes of work: the cost of a unit of work", Resource: ResHostCPU},
	{Name: "footprint", Unit: "B", Help: "peak proportional set size (PSS) of the platform's host processes during the trial: the agent; runc and its container; QEMU, guest memory included", Resource: ResFootprint},
}

// AllMetrics is what a trial of w records: its own metrics, then the cost
// metrics.
func AllMetrics(w Workload) []MetricInfo {
	return append(append([]MetricInfo(nil), w.Metrics()...), CostMetrics...)
}

// Cost returns the cost metrics of a trial that did work bytes of work,
// those that were measured: hostCPU is the CPU time of the trial's host
// processes in seconds, footprint their peak proportional set size in
// bytes (0: unknown).
func Cost(work, hostCPU, footprint float64) []result.Metric {
	var out []result.Metric
	add := func(i int, v float64) {
		out = append(out, result.Metric{Name: CostMetrics[i].Name, Unit: CostMetrics[i].Unit, Value: v})
	}
	if hostCPU > 0 {
		add(0, hostCPU)
		if work > 0 {
			add(1, hostCPU/(work/1e9))
		}
	}
	if footprint > 0 {
		add(2, footprint)
	}
	return out
}

// MetricInfo declares one metric a workload reports.
type MetricInfo struct {
	Name string
	Unit string
	Help string
	// Better is "higher" or "lower" when the unit does not say which way
	// is better (result.Higher); "" for the built-in metrics.
	Better string
	// Resource is the line of the report's summary the metric speaks
	// for (one of Resources); "" for metrics the summary leaves out.
	Resource string
}

// Resources are the lines of a report's summary, in order: what a
// platform may cost, each judged from the metrics that name it.
const (
	ResCPU       = "CPU"
	ResMemBW     = "memory bandwidth"
	ResMemLat    = "memory latency"
	ResSyscall   = "system calls"
	ResDiskIOPS  = "disk IOPS"
	ResDiskLat   = "disk latency"
	ResNetTput   = "network throughput"
	ResNetLat    = "network latency"
	ResStartup   = "startup"
	ResHostCPU   = "host CPU per unit of work"
	ResFootprint = "memory footprint"
)

// Resources lists the summary's lines in order.
var Resources = []string{ResCPU, ResMemBW, ResMemLat, ResSyscall, ResDiskIOPS, ResDiskLat, ResNetTput, ResNetLat, ResStartup, ResHostCPU, ResFootprint}

// DefaultValue returns the parameter's default.
func (p Param) DefaultValue() string {
	if p.DefaultFunc != nil {
		return p.DefaultFunc()
	}
	return p.Default
}

// Check parses one value of the parameter and checks its range.
func (p Param) Check(v string) error {
	switch p.Kind {
	case Text:
		return nil
	case Enum:
		if !slices.Contains(p.Choices, v) {
			return fmt.Errorf("must be one of %s, got %q", strings.Join(p.Choices, ", "), v)
		}
		return nil
	case Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("must be a whole number, got %q", v)
		}
		return p.checkRange(n, strconv.FormatInt)
	case Size:
		n, err := units.ParseSize(v)
		if err != nil {
			return fmt.Errorf("must be a size such as 64MiB: %v", err)
		}
		return p.checkRange(n, func(n int64, _ int) string { return units.FormatSize(n) })
	case Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("must be a duration such as 500ms or 2s, got %q", v)
		}
		return p.checkRange(int64(d), func(n int64, _ int) string { return time.Duration(n).String() })
	}
	return fmt.Errorf("parameter kind %q is unknown", p.Kind)
}

func (p Param) checkRange(n int64, format func(int64, int) string) error {
	if n < p.Min {
		return fmt.Errorf("must be ≥ %s, got %s", format(p.Min, 10), format(n, 10))
	}
	if p.Max != 0 && n > p.Max {
		return fmt.Errorf("must be ≤ %s, got %s", format(p.Max, 10), format(n, 10))
	}
	return nil
}

// Params are a workload's parameter values, complete (defaults filled in) and
// already checked, as strings in the form the scenario wrote them.
type Params map[string]string

// Int returns an Int parameter. Params are checked at load time, so a parse
// error here is a programming error reported as 0.
func (p Params) Int(name string) int {
	n, _ := strconv.Atoi(p[name])
	return n
}

// Size returns a Size parameter in bytes.
func (p Params) Size(name string) int64 {
	n, _ := units.ParseSize(p[name])
	return n
}

// Duration returns a Duration parameter.
func (p Params) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(p[name])
	return d
}

// Complete fills in defaults and checks every value, returning the complete
// params or one error per bad parameter. The agent calls it again on what it
// receives, so a request that bypassed the scenario is checked too.
func Complete(w Workload, given map[string]string) (Params, []error) {
	var errs []error
	out := Params{}
	for k, v := range given {
		i := slices.IndexFunc(w.Params(), func(p Param) bool { return p.Name == k })
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: not a parameter of workload %s (parameters: %s)", k, w.Name(), strings.Join(Names(w), ", ")))
			continue
		}
		if err := w.Params()[i].Check(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", k, err))
			continue
		}
		out[k] = v
	}
	for _, p := range w.Params() {
		if _, ok := given[p.Name]; !ok {
			out[p.Name] = p.DefaultValue()
		}
	}
	if len(errs) == 0 {
		if err := w.Validate(out); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errs
}

// Names lists a workload's parameter names in declaration order.
func Names(w Workload) []string {
	var names []string
	for _, p := range w.Params() {
		names = append(names, p.Name)
	}
	return names
}

// Deadline runs step repeatedly, in a loop, until d has elapsed or ctx is
// done, and returns the number of calls and the time they took. Built-in
// workloads measure rates this way: a fixed duration, not a fixed amount.
func Deadline(ctx context.Context, d time.Duration, step func()) (int64, time.Duration) {
	start := time.Now()
	end := start.Add(d)
	var n int64
	for {
		step()
		n++
		if now := time.Now(); now.After(end) || ctx.Err() != nil {
			return n, now.Sub(start)
		}
	}
}

// KVMExitMetrics are what a vm platform under KVM adds to every trial from
// the kernel's statistics of the guest's vCPUs (QMP query-stats), summed
// over the vCPUs, per second of the trial: where the guest left guest mode
// for the hypervisor, which is where its overhead goes. Absent under TCG.
var KVMExitMetrics = []MetricInfo{
	{Name: "kvm_exits", Unit: "exits/s", Help: "VM exits of every reason"},
	{Name: "kvm_io_exits", Unit: "exits/s", Help: "exits to emulate port I/O in QEMU"},
	{Name: "kvm_mmio_exits", Unit: "exits/s", Help: "exits to emulate memory-mapped I/O in QEMU (virtio notifications among them)"},
	{Name: "kvm_halt_exits", Unit: "exits/s", Help: "exits on HLT: an idle vCPU"},
	{Name: "kvm_irq_exits", Unit: "exits/s", Help: "exits on external interrupts (host timer, IPIs)"},
	{Name: "kvm_irq_window_exits", Unit: "exits/s", Help: "exits waiting for the guest to accept an interrupt"},
	{Name: "kvm_insn_emulation", Unit: "exits/s", Help: "instructions KVM emulated in the kernel"},
	{Name: "kvm_hypercalls", Unit: "exits/s", Help: "hypercalls from the guest"},
}
