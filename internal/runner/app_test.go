package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmbench/vmbench/internal/report"
	"github.com/vmbench/vmbench/internal/result"
)

// helloImage builds testdata/hello static into a root filesystem of its
// own and saves it as an OCI image archive: a user's image, which vmbench
// did not make.
func helloImage(t *testing.T) string {
	t.Helper()
	return saveOCI(t, helloRootfs(t))
}

// helloRootfs is testdata/hello, static, alone in a root filesystem.
func helloRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(root, "usr/bin/hello"), "./testdata/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hello: %v: %s", err, out)
	}
	return root
}

// A user's own image runs as a workload on native (chrooted into it), in
// runc and in a guest: a program whose output is read by a regex and by a
// JSON path, and a server loaded by wrk on the host.
func TestAppFromAUsersImage(t *testing.T) {
	needGuest(t)
	needRuntime(t, "runc")
	image := helloImage(t)
	dir, samples, err := run(t, context.Background(), load(t, fmt.Sprintf(`version: 1
name: app
repetitions: 1
warmup: 0
timeout: 2m
sample_interval: 0s
tools_image: %s
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
  - {name: guest, type: vm, accel: tcg, vcpus: 1, memory: 512MiB, scratch_size: 16MiB}
workloads:
  - name: hello
    type: app
    app:
      command: [hello]
      metrics:
        - {name: throughput, unit: B/s, regex: 'rate=(?P<value>[0-9.e+]+) B/s'}
        - {name: blocks, unit: blocks, better: higher, regex: 'hashed (?P<value>\d+) blocks'}
  - name: hello-json
    type: app
    app:
      command: [/usr/bin/hello, json]
      metrics:
        - {name: throughput, unit: B/s, json: hash.bytes_per_s}
        - {name: blocks, unit: blocks, better: higher, json: hash.blocks.0}
  - name: web
    type: app
    app:
      command: [hello, serve, "8088"]
      port: 8088
      client: [wrk, -t1, -c4, -d1s, --latency, "http://{addr}:{port}/"]
      parser: wrk
`, image)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, s := range samples {
		if s.Workload == "boot" {
			continue
		}
		if s.Error != "" {
			t.Errorf("%s on %s failed: %s", s.Workload, s.Platform, s.Error)
			continue
		}
		m := map[string]float64{}
		for _, x := range s.Metrics {
			m[x.Name] = x.Value
		}
		got[s.Workload+"/"+s.Platform] = m
	}
	for _, p := range []string{"native", "box", "guest"} {
		for _, w := range []string{"hello", "hello-json"} {
			if m := got[w+"/"+p]; m["throughput"] <= 0 || m["blocks"] < 1 || m["host_cpu"] <= 0 {
				t.Errorf("%s on %s: %v, want throughput and blocks read from the output, and host_cpu", w, p, m)
			}
		}
		if m := got["web/"+p]; m["rate"] <= 0 || m["p99"] <= 0 || m["host_cpu"] <= 0 {
			t.Errorf("web on %s: %v, want wrk's rate and percentiles, and the server's host_cpu", p, m)
		}
	}
	info, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	report.Markdown(&md, report.Build(info, samples))
	if !strings.Contains(md.String(), "| hello |  | throughput (B/s) |") || !strings.Contains(md.String(), "| web |  | p99 (s) |") {
		t.Errorf("the report has no app rows:\n%s", md.String())
	}
	if image := info.Platforms[2].Info["tools_disk"]; image != "" {
		t.Cleanup(func() { os.RemoveAll(filepath.Dir(image)) }) // the imported rootfs and its disk
	}
	nothingLeft(t, "runc", info.RunID)
}

// An image the engine has (tools_image: docker:NAME) serves as the app's
// image: saved, unpacked and cached as an archive is, and run natively and
// in Docker.
func TestAppFromAnEngineImage(t *testing.T) {
	docker := needEngine(t, "docker")
	root := helloRootfs(t)
	const ref = "hello-for-vmbench-tests:1"
	if err := docker.Import(context.Background(), root, ref, "test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker.RemoveImage(ref) })
	dir, samples, err := run(t, context.Background(), load(t, `version: 1
name: engine-image
repetitions: 1
warmup: 0
sample_interval: 0s
tools_image: docker:`+ref+`
platforms:
  - {name: native, type: native}
  - {name: docker, type: container, engine: docker, network: none}
workloads:
  - name: hello
    type: app
    app:
      command: [hello, json]
      metrics:
        - {name: throughput, unit: B/s, json: hash.bytes_per_s}
`))
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, s := range samples {
		if s.Error != "" || len(s.Metrics) == 0 || s.Metrics[0].Value <= 0 {
			t.Errorf("hello on %s: %s %+v", s.Platform, s.Error, s.Metrics)
			continue
		}
		ok++
	}
	if ok != 2 {
		t.Errorf("%d successful samples, want 2 (native, docker)", ok)
	}
	info, _ := result.ReadRun(dir)
	if rootfs := info.Platforms[1].Info["image"]; rootfs == "" {
		t.Errorf("run.json: docker's image %q", rootfs)
	}
	matches, _ := filepath.Glob("/var/cache/vmbench/tools-oci-*")
	for _, m := range matches {
		if _, err := os.Stat(filepath.Join(m, "rootfs", "usr/bin/hello")); err == nil {
			os.RemoveAll(m) // the unpacked image, cached
		}
	}
	engineNothingLeft(t, info.RunID, docker)
}
