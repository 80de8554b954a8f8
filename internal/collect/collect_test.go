package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func check(t *testing.T, s Sampler, got []float64, want map[string]float64) {
	t.Helper()
	fields := s.Fields()
	if len(got) != len(fields) {
		t.Fatalf("%d values for %d fields", len(got), len(fields))
	}
	for i, f := range fields {
		if w, ok := want[f.Name]; ok && !near(got[i], w) {
			t.Errorf("%s = %v, want %v", f.Name, got[i], w)
		}
	}
}

func TestHostFixture(t *testing.T) {
	h := NewHost("host", "testdata/host")
	got, err := h.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check(t, h, got, map[string]float64{
		"cpu_user": 11, "cpu_system": 5.5, "cpu_iowait": 0.5, "cpu_steal": 0.3, "cpu_guest": 2, "cpu_idle": 80,
		"mem_used": 3000000 * 1024, "mem_available": 5000000 * 1024,
		// vda only: not its partition, not the loop device.
		"disk_read": 2000 * 512, "disk_written": 1000 * 512,
		"net_recv": 51000, "net_sent": 21000,
	})
}

func TestProcessCPU(t *testing.T) {
	// A command name with a space and parentheses, utime 1234 and stime
	// 567 ticks.
	got, err := ProcessCPU("testdata/host/proc", 4242)
	if err != nil || !near(got, 18.01) {
		t.Errorf("ProcessCPU = %v, %v; want 18.01 s", got, err)
	}
	if _, err := ProcessCPU("testdata/host/proc", 1); err == nil {
		t.Error("a missing process gave no error")
	}
	if self, err := ProcessCPU("/proc", os.Getpid()); err != nil || self < 0 {
		t.Errorf("own CPU %v, %v", self, err)
	}
}

func TestTreeFixture(t *testing.T) {
	if got := Descendants("testdata/host/proc", 4242); len(got) != 2 || got[0] != 4242 || got[1] != 4300 {
		t.Errorf("Descendants = %v, want [4242 4300] (the child is listed by the second thread)", got)
	}
	pid := 4242
	tr := &Tree{Root: "testdata/host/proc", PID: func() int { return pid }}
	got, err := tr.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check(t, tr, got, map[string]float64{
		// 4242: 1234+567 ticks; 4300: 50+25 own and 3+2 reaped.
		"cpu": 18.01 + 0.80,
		"rss": (600000 + 10000) * 1024,
		"pss": (550000 + 8000) * 1024,
	})
	for _, pid = range []int{0, 9999} {
		if _, err := tr.Read(context.Background()); !errors.Is(err, ErrAbsent) {
			t.Errorf("pid %d: err %v, want ErrAbsent", pid, err)
		}
	}
}

func TestCgroupFixture(t *testing.T) {
	for _, tc := range []struct {
		root     string
		cpu, mem float64
	}{
		{"testdata/cgroup1", 2.5, 40 << 20},
		{"testdata/cgroup2", 1.5, 20 << 20},
	} {
		path := "/vmbench-x-1"
		c := &Cgroup{Root: tc.root, Path: func() string { return path }}
		got, err := c.Read(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.root, err)
		}
		check(t, c, got, map[string]float64{"cpu": tc.cpu, "memory": tc.mem})
		for _, path = range []string{"", "/vmbench-x-2"} {
			if _, err := c.Read(context.Background()); !errors.Is(err, ErrAbsent) {
				t.Errorf("%s: path %q: err %v, want ErrAbsent", tc.root, path, err)
			}
		}
	}
}

// A collection on this machine: the host and this test process, while it
// burns CPU.
func TestCollection(t *testing.T) {
	self := &Tree{Root: "/proc", PID: os.Getpid}
	c := Start(context.Background(), 10*time.Millisecond, NewHost("host", "/"), self)
	// Burn 300 ms of this process's CPU, however long that takes: on a CI
	// host with both cores busy, 300 ms of wall time gave it 78 ms.
	began := time.Now()
	for start := cpuTime(t); cpuTime(t)-start < 300*time.Millisecond; {
	}
	burnt := time.Since(began).Seconds()
	res := c.Stop()
	if again := c.Stop(); len(again.Series) != len(res.Series) {
		t.Error("a second Stop differs")
	}
	if len(res.Series) != 2 || res.Series[0].Sampler != "host" || res.Series[1].Sampler != "process" {
		t.Fatalf("series %+v", res.Series)
	}
	for _, s := range res.Series {
		if len(s.Errors) > 0 {
			t.Errorf("%s: errors %v", s.Sampler, s.Errors)
		}
		if len(s.Points) < 5 {
			t.Errorf("%s: %d points in at least 300 ms at 10 ms", s.Sampler, len(s.Points))
		}
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].T < s.Points[i-1].T {
				t.Errorf("%s: time goes back at point %d", s.Sampler, i)
			}
		}
	}
	cpu := res.Series[1].Field("cpu")
	pts := res.Series[1].Points
	if d := pts[len(pts)-1].Values[cpu] - pts[0].Values[cpu]; d < 0.1 {
		t.Errorf("this process burnt 300 ms of CPU, its tree counter moved %.2f s", d)
	}
	if rss, ok := res.Series[1].Max("rss"); !ok || rss < 1<<20 {
		t.Errorf("max rss %v, %v", rss, ok)
	}
	// The process's CPU counts every thread's (the samplers' too): on an
	// idle 2-core host the 300 ms took 0.27 s of wall time.
	if res.SelfCPU < 0.1 || res.Wall < burnt || res.Interval != 0.01 {
		t.Errorf("self CPU %.3f s, wall %.3f s, interval %v", res.SelfCPU, res.Wall, res.Interval)
	}
	// The samplers' thread did part of what the process did: not the
	// busy loop.
	if res.SamplerCPU <= 0 || res.SamplerCPU >= res.SelfCPU/2 {
		t.Errorf("sampler CPU %.4f s of the process's %.3f s", res.SamplerCPU, res.SelfCPU)
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkHostRead(b *testing.B) {
	h := NewHost("host", "/")
	for b.Loop() {
		if _, err := h.Read(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTreeRead(b *testing.B) {
	tr := &Tree{Root: "/proc", PID: os.Getpid}
	for b.Loop() {
		if _, err := tr.Read(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// PSS of a large tree is read at the first reading and every PSSEvery
// readings; between, it is the last PSS plus what RSS grew since. A small
// tree's is read every time.
func TestTreePSSEstimate(t *testing.T) {
	root := t.TempDir()
	status := filepath.Join(root, "7", "status")
	rollup := filepath.Join(root, "7", "smaps_rollup")
	os.MkdirAll(filepath.Join(root, "7"), 0o755)
	os.WriteFile(filepath.Join(root, "7", "stat"), []byte("7 (x) S 1 7 7 0 -1 0 0 0 0 0 10 10 0 0 20 0 1 0 1 1 1\n"), 0o644)
	set := func(rssKB, pssKB int) {
		os.WriteFile(status, fmt.Appendf(nil, "VmRSS:\t%d kB\n", rssKB), 0o644)
		os.WriteFile(rollup, fmt.Appendf(nil, "Pss:\t%d kB\n", pssKB), 0o644)
	}
	tr := &Tree{Root: root, PID: func() int { return 7 }}
	pss := func() float64 {
		v, err := tr.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return v[2] / 1024
	}
	set(100000, 90000)
	if got := pss(); got != 90000 {
		t.Fatalf("first large reading: pss %v kB, want 90000 (read)", got)
	}
	set(200000, 195000) // grown by 100000 kB of its own memory
	if got := pss(); got != 190000 {
		t.Errorf("after RSS grew 100000 kB: pss %v kB, want 190000 (estimated)", got)
	}
	var got float64
	for range PSSEvery - 1 {
		got = pss()
	}
	if got != 195000 {
		t.Errorf("%d readings later: pss %v kB, want 195000 (read again)", PSSEvery, got)
	}
	set(1000, 900) // small: read every time
	if got := pss(); got != 900 {
		t.Errorf("small: pss %v kB, want 900 (read)", got)
	}
}

// A container's cgroup is removed when its trial ends, at any moment
// between two readings or during one: the kernel then answers a read of a
// file opened just before with ENODEV, not ENOENT. Either way the cgroup
// is gone, not broken. Races real cgroups of this host against readings.
func TestCgroupRemovedWhileRead(t *testing.T) {
	const root = "/sys/fs/cgroup"
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	parent := root
	if !V2(root) {
		parent = filepath.Join(root, "cpuacct")
	}
	name := fmt.Sprintf("/vmbench-collect-test-%d", os.Getpid())
	c := &Cgroup{Root: root, Path: func() string { return name }}
	var present, absent int
	for i := 0; i < 2000 && (present == 0 || absent == 0 || i < 500); i++ {
		dirs := []string{filepath.Join(parent, name)}
		if !V2(root) {
			dirs = append(dirs, filepath.Join(root, "memory", name))
		}
		for _, d := range dirs {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, d := range dirs {
				if err := os.Remove(d); err != nil {
					t.Error(err)
				}
			}
		}()
		for j := 0; j < 3; j++ {
			switch _, err := c.Read(context.Background()); {
			case err == nil:
				present++
			case errors.Is(err, ErrAbsent):
				absent++
			default:
				<-done
				t.Fatalf("reading %d of a cgroup being removed: %v (want a reading or ErrAbsent)", i, err)
			}
		}
		<-done
	}
	t.Logf("%d readings, %d of a cgroup already gone", present+absent, absent)
}

// PeakSum adds the series reading by reading: two instances that peak at
// different readings hold together less than the sum of their peaks, and
// a series with no point in a reading (its subject gone) adds nothing.
func TestPeakSum(t *testing.T) {
	pss := []Field{{Name: "pss", Unit: "B", Kind: Gauge}}
	r := Result{
		Readings: []float64{0, 0.1, 0.2, 0.3},
		Series: []Series{
			{Sampler: "host"},
			{Sampler: "process", Fields: pss, Points: []Point{{T: 0.01, Values: []float64{10}}, {T: 0.11, Values: []float64{4}}, {T: 0.21, Values: []float64{4}}}},
			{Sampler: "process", Fields: pss, Points: []Point{{T: 0.12, Values: []float64{3}}, {T: 0.22, Values: []float64{9}}, {T: 0.31, Values: []float64{2}}}},
		},
	}
	if got := r.PeakSum("pss", []int{1, 2}); got != 13 {
		t.Errorf("PeakSum = %v, want 13 (4 + 9 at the third reading; the peaks' sum is 19)", got)
	}
	if got := r.PeakSum("pss", []int{0}); got != 0 {
		t.Errorf("PeakSum of a series without the field = %v, want 0", got)
	}
}
