// Package nginx is a web server under load: nginx serves a static file in
// the platform, and wrk loads it from the host (--latency), over the same
// path as the other client workloads (loopback, a veth on vmbench's bridge,
// an engine's published port, a guest's tap).
package nginx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/workload"
)

// Port is the port nginx listens on.
const Port = 48080 // not 80: a host may run its own web server

// The file nginx serves, and the request that stops it once the client is
// done (the server cannot know when the load ends otherwise).
const (
	file     = "/file"
	stopPath = "/vmbench-stop"
)

// Workload is the nginx + wrk adapter.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Tool     = Workload{}
	_ workload.Client   = Workload{}
)

func (Workload) Name() string       { return "nginx" }
func (Workload) Packages() []string { return []string{"nginx-light"} }
func (Workload) Programs() []string { return []string{"nginx"} }

func (Workload) Describe() string {
	return "wrk on the host loading a static file from nginx in the platform: requests/s and latency percentiles"
}

func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "size", Kind: workload.Size, Default: "4KiB", Min: 0, Max: 1 << 30, Help: "bytes of the file served"},
		{Name: "connections", Kind: workload.Int, Default: "32", Min: 1, Max: 10000, Help: "open connections (wrk -c), kept alive"},
		{Name: "threads", Kind: workload.Int, Default: "2", Min: 1, Max: 256, Help: "wrk's threads (-t); at most connections"},
		{Name: "workers", Kind: workload.Int, Default: "1", Min: 1, Max: 256, Help: "nginx worker processes"},
		{Name: "duration", Kind: workload.Duration, Default: "2s", Min: int64(time.Second), Help: "wrk -d, whole seconds"},
	}
}

func (Workload) Metrics() []workload.MetricInfo {
	return []workload.MetricInfo{
		{Name: "rate", Unit: "ops/s", Help: "requests per second (wrk's Requests/sec)", Resource: workload.ResNetTput},
		{Name: "latency", Unit: "s", Help: "mean request latency"},
		{Name: "p50", Unit: "s", Help: "50% of the requests took at most this"},
		{Name: "p90", Unit: "s", Help: "90% of the requests took at most this"},
		{Name: "p99", Unit: "s", Help: "99% of the requests took at most this", Resource: workload.ResNetLat},
		{Name: "bandwidth", Unit: "B/s", Help: "bytes read per second (wrk's Transfer/sec)"},
	}
}

func (Workload) Validate(p workload.Params) error {
	if d := p.Duration("duration"); d%time.Second != 0 {
		return fmt.Errorf("duration: wrk runs whole seconds, got %s", d)
	}
	if p.Int("threads") > p.Int("connections") {
		return fmt.Errorf("threads: wrk needs at least one connection per thread, got %s threads for %s connections", p["threads"], p["connections"])
	}
	return nil
}

// Port is the port the server listens on.
func (Workload) Port(workload.Params) int { return Port }

// Config is nginx's configuration: everything it writes under dir, the
// file at root/file, no access log but the stop request's.
func Config(dir, listen string, workers int) string {
	return fmt.Sprintf(`daemon off;
master_process on;
user root;
worker_processes %d;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  keepalive_requests 1000000;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  server {
    listen %[3]s;
    root %[2]s/www;
    location = %[4]s { access_log %[2]s/stop.log; return 204; }
  }
}
`, workers, dir, net.JoinHostPort(listen, strconv.Itoa(Port)), stopPath)
}

// Run is the server: nginx, until the client asks it to stop (or ctx ends).
func (Workload) Run(ctx context.Context, p workload.Params) (workload.Result, error) {
	path, err := findNginx()
	if err != nil {
		return workload.Result{}, err
	}
	dir, err := os.MkdirTemp("", "vmbench-nginx-")
	if err != nil {
		return workload.Result{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		return workload.Result{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "www", file), bytes.Repeat([]byte("v"), int(p.Size("size"))), 0o644); err != nil {
		return workload.Result{}, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(Config(dir, workload.ListenAddr(), p.Int("workers"))), 0o644); err != nil {
		return workload.Result{}, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, path, "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return workload.Result{}, fmt.Errorf("nginx: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if ctx.Err() != nil {
				return workload.Result{}, ctx.Err()
			}
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return workload.Result{}, fmt.Errorf("nginx exited before the client was done: %v: %s", err, lastLine(stderr.String()+string(log)))
		case <-tick.C:
			// nginx opens its logs when it starts; the stop request's
			// line is what tells.
			if fi, err := os.Stat(filepath.Join(dir, "stop.log")); err == nil && fi.Size() > 0 {
				cmd.Process.Signal(syscall.SIGQUIT) // finish the requests in flight, then exit
				<-exited
				return workload.Result{Metrics: []result.Metric{{Name: "served", Unit: "s", Value: time.Since(start).Seconds()}}}, nil
			}
		}
	}
}

// findNginx finds nginx: Debian keeps it in /usr/sbin, which a user's PATH
// may lack.
func findNginx() (string, error) {
	const name = "nginx"
	for _, dir := range append(filepath.SplitList(os.Getenv("PATH")), "/usr/sbin", "/sbin") {
		if p := filepath.Join(dir, name); isExec(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: on native, install it (apt-get install -y nginx-light); containers and guests get it from vmbench's tools rootfs", name)
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

const dialWait = time.Minute

// ClientArgs are wrk's arguments against the server at addr.
func ClientArgs(p workload.Params, addr string) []string {
	return []string{"-t", p["threads"], "-c", p["connections"], "-d", strconv.Itoa(int(p.Duration("duration").Seconds())) + "s",
		"--latency", "http://" + net.JoinHostPort(addr, strconv.Itoa(Port)) + file}
}

// Client waits for nginx to serve the file, runs wrk, and stops nginx.
func (Workload) Client(ctx context.Context, addr string, p workload.Params) (workload.Result, error) {
	base := "http://" + net.JoinHostPort(addr, strconv.Itoa(Port))
	if err := get(ctx, base+file, http.StatusOK, dialWait); err != nil {
		return workload.Result{}, err
	}
	defer get(context.WithoutCancel(ctx), base+stopPath, http.StatusNoContent, 10*time.Second)
	out, err := workload.RunTool(ctx, "wrk", ClientArgs(p, addr)...)
	if err != nil {
		return workload.Result{}, err
	}
	return Parse(out)
}

// get asks for url until it answers with status, within a deadline.
func get(ctx context.Context, url string, status int, within time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	err := workload.Retry(ctx, within, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			return fmt.Errorf("status %s, want %d", resp.Status, status)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("nginx at %s: %w", url, err)
	}
	return err
}

var (
	latencyRE = regexp.MustCompile(`^\s*Latency\s+(\S+)\s`)
	pctRE     = regexp.MustCompile(`^\s*(50|90|99)%\s+(\S+)`)
	rateRE    = regexp.MustCompile(`^Requests/sec:\s+(\S+)`)
	transRE   = regexp.MustCompile(`^Transfer/sec:\s+(\S+)`)
	non2xxRE  = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	sockRE    = regexp.MustCompile(`^\s*Socket errors:\s+(.*)`)
)

// Parse reads wrk's report (with --latency). Times are in wrk's units (us,
// ms, s, m); sizes in its binary ones (KB = 1024 B).
func Parse(out []byte) (workload.Result, error) {
	var res workload.Result
	got := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		var err error
		switch {
		case latencyRE.MatchString(line):
			got["latency"], err = wrkTime(latencyRE.FindStringSubmatch(line)[1])
		case pctRE.MatchString(line):
			m := pctRE.FindStringSubmatch(line)
			got["p"+m[1]], err = wrkTime(m[2])
		case rateRE.MatchString(line):
			got["rate"], err = strconv.ParseFloat(rateRE.FindStringSubmatch(line)[1], 64)
		case transRE.MatchString(line):
			got["bandwidth"], err = wrkSize(transRE.FindStringSubmatch(line)[1])
		case non2xxRE.MatchString(line):
			return res, fmt.Errorf("wrk: %s requests were answered with an error status: nginx did not serve the file", non2xxRE.FindStringSubmatch(line)[1])
		case sockRE.MatchString(line):
			res.Warnings = append(res.Warnings, "wrk socket errors: "+sockRE.FindStringSubmatch(line)[1])
		}
		if err != nil {
			return res, fmt.Errorf("wrk output %q: %w", line, err)
		}
	}
	for _, m := range (Workload{}).Metrics() {
		v, ok := got[m.Name]
		if !ok {
			return res, fmt.Errorf("wrk output has no %s (run with --latency?): %q", m.Name, workload.FirstLines(out, 3))
		}
		res.Metrics = append(res.Metrics, result.Metric{Name: m.Name, Unit: m.Unit, Value: v})
	}
	if got["rate"] <= 0 {
		return res, fmt.Errorf("wrk completed no request: %q", workload.FirstLines(out, 3))
	}
	return res, nil
}

// wrkTime reads 317.06us, 3.11ms, 1.02s or 1.50m in seconds.
func wrkTime(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"us", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.scale, err
		}
	}
	return 0, fmt.Errorf("unknown time unit in %q", s)
}

// wrkSize reads 26.39MB (wrk's units are powers of 1024) in bytes.
func wrkSize(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.scale, err
		}
	}
	f, err := strconv.ParseFloat(s, 64) // wrk prints small sizes bare
	return f, err
}
