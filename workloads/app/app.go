// Package app is the workload of a user's own program: a command run in
// the scenario's image (tools_image: an OCI or docker-save archive), whose
// output vmbench reads with a regular expression, a JSON path or one of its
// own parsers. With a port, the command is a server in the platform and a
// client command runs on the host against it, whose output is read.
package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads/fio"
	"github.com/vmbench/vmbench/workloads/iperf3"
	"github.com/vmbench/vmbench/workloads/nginx"
	"github.com/vmbench/vmbench/workloads/redis"
	"github.com/vmbench/vmbench/workloads/stressng"
	"github.com/vmbench/vmbench/workloads/sysbench"
)

// Spec is what a scenario's app: block says: argument vectors, never shell
// strings.
type Spec struct {
	Command []string `json:"command"`
	// Metrics read the output (the command's, or the client's for a
	// server); Parser instead reads it with one of vmbench's parsers.
	Metrics []Metric `json:"metrics,omitempty"`
	Parser  string   `json:"parser,omitempty"`
	// Port, when set, makes Command a server listening there; Client runs
	// on the host once it accepts, with {addr} and {port} in its arguments
	// replaced by the platform's address and the port.
	Port   int      `json:"port,omitempty"`
	Client []string `json:"client,omitempty"`
}

// Metric is one metric read from the output: Regex's group named value, or
// the number at JSON's dot path (a.b.0.c) in the output's JSON document.
type Metric struct {
	Name  string `json:"name"`
	Unit  string `json:"unit"`
	Regex string `json:"regex,omitempty"`
	JSON  string `json:"json,omitempty"`
	// Better is higher or lower: which way is better, where the unit does
	// not say (a rate …/s is better high; a time or a size in bytes low).
	Better string `json:"better,omitempty"`
}

// Parsers are the parsers of vmbench's own tool workloads an app may use.
// sysbench and stress-ng name the test: sysbench:cpu, stress-ng:stream.
var Parsers = []string{"fio", "iperf3", "redis-benchmark", "wrk", "sysbench:cpu", "sysbench:memory", "stress-ng:stream", "stress-ng:cpu"}

// parsers are the tool workloads behind Parsers, by the name before the
// colon: their metrics, and how each reads its tool's output (arg is the
// part after the colon).
var parsers = map[string]struct {
	w     workload.Workload
	parse func(arg string, out []byte) (workload.Result, error)
}{
	"fio":             {fio.Workload{}, func(_ string, out []byte) (workload.Result, error) { return fio.Parse(out) }},
	"iperf3":          {iperf3.Workload{}, func(_ string, out []byte) (workload.Result, error) { return iperf3.Parse(out) }},
	"redis-benchmark": {redis.Workload{}, func(_ string, out []byte) (workload.Result, error) { return redis.Parse(out) }},
	"wrk":             {nginx.Workload{}, func(_ string, out []byte) (workload.Result, error) { return nginx.Parse(out) }},
	"sysbench":        {sysbench.Workload{}, sysbench.Parse},
	"stress-ng":       {stressng.Workload{}, stressng.Parse},
}

// ParamName is the parameter that carries the spec, as JSON, to wherever
// the workload runs: the scenario's app: block sets it.
const ParamName = "app"

// Check says what is wrong with a spec, as (field, message) pairs: the
// scenario locates them.
func (s Spec) Check() [][2]string {
	var errs [][2]string
	fail := func(field, format string, args ...any) {
		errs = append(errs, [2]string{field, fmt.Sprintf(format, args...)})
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		fail("command", "must be the program and its arguments, as a list: [/usr/bin/myapp, --flag, value]")
	}
	switch {
	case s.Parser != "" && len(s.Metrics) > 0:
		fail("parser", "give metrics or a parser, not both")
	case s.Parser == "" && len(s.Metrics) == 0:
		fail("metrics", "say how to read the output: metrics (each with a regex or a json path) or a parser (%s)", strings.Join(Parsers, ", "))
	case s.Parser != "" && !slices.Contains(Parsers, s.Parser):
		fail("parser", "unknown parser %q: one of %s", s.Parser, strings.Join(Parsers, ", "))
	}
	seen := map[string]bool{}
	for i, m := range s.Metrics {
		at := fmt.Sprintf("metrics[%d]", i)
		if !nameRE.MatchString(m.Name) {
			fail(at+".name", "must be 1–63 characters of a-z, 0-9 and _, starting with a letter, got %q", m.Name)
		} else if seen[m.Name] || slices.ContainsFunc(workload.CostMetrics, func(c workload.MetricInfo) bool { return c.Name == m.Name }) {
			fail(at+".name", "%q is taken (by another metric, or one vmbench measures itself)", m.Name)
		}
		seen[m.Name] = true
		if !unitRE.MatchString(m.Unit) {
			// A unit goes into bench.txt, CSV and Markdown as it is: a
			// newline would add benchmark lines, a leading = a formula.
			fail(at+".unit", "must name the metric's unit (s, B, B/s, ops/s, or a word): up to 31 letters, digits, %%, /, ., _ and -, starting with a letter, a digit or %%; got %q", m.Unit)
		}
		switch {
		case m.Better != "" && m.Better != "higher" && m.Better != "lower":
			fail(at+".better", "must be higher or lower, got %q", m.Better)
		case m.Better == "" && unitRE.MatchString(m.Unit) && !result.UnitSaysBetter(m.Unit):
			// Guessed from the unit, fps would read as a time and
			// errors/s as a rate, and every verdict on them be backwards.
			fail(at+".better", "the unit %q does not say which way is better: add better: higher (throughput, fps, a score) or better: lower (a time, errors, a loss)", m.Unit)
		}
		switch {
		case (m.Regex == "") == (m.JSON == ""):
			fail(at, "give exactly one of regex (with a group named value) or json (a dot path)")
		case m.Regex != "":
			re, err := regexp.Compile(m.Regex)
			if err != nil {
				fail(at+".regex", "does not compile: %v", err)
			} else if n := regexSize(m.Regex); n > MaxRegexSize {
				fail(at+".regex", "is too large: %d instructions compiled, at most %d (a regex runs over up to 1 MiB of output, in time that grows with both)", n, MaxRegexSize)
			} else if !slices.Contains(re.SubexpNames(), "value") {
				fail(at+".regex", "has no group named value: write (?P<value>[0-9.]+) around the number")
			}
		}
	}
	if s.Port != 0 && (s.Port < 1 || s.Port > 65535) {
		fail("port", "must be a TCP port, 1–65535, got %d", s.Port)
	}
	switch {
	case s.Port != 0 && len(s.Client) == 0:
		fail("client", "a server (port: %d) needs the client command that loads it from the host, with {addr} and {port}", s.Port)
	case s.Port == 0 && len(s.Client) > 0:
		fail("port", "a client needs the port the command listens on")
	}
	return errs
}

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	unitRE = regexp.MustCompile(`^[\pL\pN%µ][\pL\pN%µ/._-]{0,30}$`)
)

// MaxRegexSize bounds a metric regex's compiled program: 1 MiB of output
// (workload.MaxOutput) times its instructions is the work of one search:
// a 245-instruction regex took 2.1 s over 1 MiB that it did not match
// (2026-12-04, this machine); a metric regex is typically under 50.
const MaxRegexSize = 200

// regexSize is the number of instructions of re's compiled program.
func regexSize(re string) int {
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

// Encode is the spec as its parameter's value.
func (s Spec) Encode() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Decode reads a spec from a trial's parameters.
func Decode(p workload.Params) (Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(p[ParamName]), &s); err != nil {
		return s, fmt.Errorf("the app's spec: %w", err)
	}
	return s, nil
}

// Workload is the app workload.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
	_ workload.Client   = Workload{}
)

func (Workload) Name() string { return "app" }

// Packages and Programs: the image is the user's, which vmbench does not
// build; the command's program is checked when it runs.
func (Workload) Packages() []string { return nil }
func (Workload) Programs() []string { return nil }

func (Workload) Describe() string {
	return "your own program in your image (tools_image), its output read by a regex, a JSON path or a parser; a server loaded by a client on the host"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{{Name: ParamName, Kind: workload.Text, Help: "set by the workload's app: block (command, metrics or parser, port, client)"}}
}

// Metrics are the app's own, declared by its scenario.
func (Workload) Metrics() []workload.MetricInfo { return nil }

func (Workload) Validate(p workload.Params) error {
	s, err := Decode(p)
	if err != nil {
		return err
	}
	var msgs []string
	for _, e := range s.Check() {
		msgs = append(msgs, e[0]+": "+e[1])
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// Port is the server's port; 0 for a command that is no server.
func (Workload) Port(p workload.Params) int {
	s, _ := Decode(p)
	return s.Port
}

// StopsServer: a user's server runs until it is stopped.
func (Workload) StopsServer() {}

// Run runs the command where the platform put the agent: its output is
// the trial's result, or, for a server, it serves until the trial stops it.
func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	s, err := Decode(p)
	if err != nil {
		return workload.Result{}, err
	}
	cmd := exec.CommandContext(ctx, s.Command[0], s.Command[1:]...)
	if root := os.Getenv(workload.AppRootEnv); root != "" {
		// Native: the image's program, in the image's filesystem (a bare
		// chroot: no /proc or /dev but the image's own).
		path, err := inRoot(root, s.Command[0])
		if err != nil {
			return workload.Result{}, err
		}
		cmd.Path, cmd.Err, cmd.Dir = path, nil, "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	}
	var out workload.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	if s.Port != 0 {
		// A server ends when the trial stops it, once its client is done.
		if ctx.Err() != nil {
			return workload.Result{Metrics: []result.Metric{{Name: "served", Unit: "s", Value: time.Since(start).Seconds()}}}, nil
		}
		return workload.Result{}, fmt.Errorf("the server %s exited before its client was done: %v: %s", s.Command[0], err, workload.FirstLines(out.Bytes(), 5))
	}
	if err != nil {
		return workload.Result{}, fmt.Errorf("%s: %v: %s", strings.Join(s.Command, " "), err, workload.FirstLines(out.Bytes(), 5))
	}
	return s.Read(out.Bytes())
}

// inRoot finds a program in the image's filesystem at root, as its PATH
// would: the path to exec once chrooted.
func inRoot(root, name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return name, nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if fi, err := os.Stat(root + dir + "/" + name); err == nil && !fi.IsDir() {
			return dir + "/" + name, nil
		}
	}
	return "", fmt.Errorf("%s is not in the image (looked in its /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin and /bin): give its absolute path in command", name)
}

// MetricsOf are the metrics an app records: its own, or its parser's.
func MetricsOf(s Spec) []workload.MetricInfo {
	if s.Parser == "" {
		var out []workload.MetricInfo
		for _, m := range s.Metrics {
			out = append(out, workload.MetricInfo{Name: m.Name, Unit: m.Unit, Better: m.Better, Help: "read from the output"})
		}
		return out
	}
	name, _, _ := strings.Cut(s.Parser, ":")
	p, ok := parsers[name]
	if !ok {
		return nil
	}
	return p.w.Metrics()
}

// Client runs the client command on the host against the server at addr,
// once the server accepts connections, and reads its output.
func (Workload) Client(ctx context.Context, addr string, p workload.Params) (workload.Result, error) {
	s, err := Decode(p)
	if err != nil {
		return workload.Result{}, err
	}
	if err := waitAccept(ctx, net.JoinHostPort(addr, strconv.Itoa(s.Port)), time.Minute); err != nil {
		return workload.Result{}, err
	}
	args := make([]string, len(s.Client))
	for i, a := range s.Client {
		args[i] = strings.NewReplacer("{addr}", addr, "{port}", strconv.Itoa(s.Port)).Replace(a)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out workload.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return workload.Result{}, fmt.Errorf("client %s: %v: %s", strings.Join(args, " "), err, workload.FirstLines(out.Bytes(), 5))
	}
	return s.Read(out.Bytes())
}

// waitAccept dials target until it accepts, within a deadline: a server
// in a container or a guest takes a while to start.
func waitAccept(ctx context.Context, target string, within time.Duration) error {
	err := workload.Retry(ctx, within, func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("the server at %s did not accept (does the command listen on that port, on every address?): %w", target, err)
	}
	return err
}

// Read reads the metrics from a command's output. A metric the output does
// not have fails the trial, quoting the output's first lines.
func (s Spec) Read(out []byte) (workload.Result, error) {
	if s.Parser != "" {
		res, err := parse(s.Parser, out)
		if err != nil {
			return res, fmt.Errorf("parser %s: %v; the output began: %s", s.Parser, err, workload.FirstLines(out, 5))
		}
		return res, nil
	}
	var res workload.Result
	var doc any
	for _, m := range s.Metrics {
		var text string
		switch {
		case m.Regex != "":
			re := regexp.MustCompile(m.Regex)
			match := re.FindSubmatch(out)
			if match == nil {
				return res, fmt.Errorf("metric %s: the regex %s matches nothing in the output, which began: %s", m.Name, m.Regex, workload.FirstLines(out, 5))
			}
			text = string(match[re.SubexpIndex("value")])
		default:
			if doc == nil {
				if err := json.Unmarshal(bytes.TrimSpace(out), &doc); err != nil {
					return res, fmt.Errorf("metric %s: the output is not one JSON document (%v); it began: %s", m.Name, err, workload.FirstLines(out, 5))
				}
			}
			v, err := at(doc, m.JSON)
			if err != nil {
				return res, fmt.Errorf("metric %s: %v; the output began: %s", m.Name, err, workload.FirstLines(out, 5))
			}
			text = v
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return res, fmt.Errorf("metric %s: %q is not a number", m.Name, text)
		}
		res.Metrics = append(res.Metrics, result.Metric{Name: m.Name, Unit: m.Unit, Value: v, Better: m.Better})
	}
	return res, nil
}

// at follows a dot path (a.b.0.c) through a decoded JSON document.
func at(doc any, path string) (string, error) {
	cur := doc
	for _, key := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[key]
			if !ok {
				return "", fmt.Errorf("the JSON has no %q at %s", key, path)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(c) {
				return "", fmt.Errorf("the JSON has no element %q at %s (a list of %d)", key, path, len(c))
			}
			cur = c[i]
		default:
			return "", fmt.Errorf("the JSON has no %q at %s", key, path)
		}
	}
	switch v := cur.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("%s is not a number in the JSON", path)
}

func parse(parser string, out []byte) (workload.Result, error) {
	name, arg, _ := strings.Cut(parser, ":")
	p, ok := parsers[name]
	if !ok {
		return workload.Result{}, fmt.Errorf("unknown parser %q", parser)
	}
	return p.parse(arg, out)
}
