package scenario

import (
	"os"
	"slices"
	"strings"
	"testing"
)

const matrix = `version: 1
name: m
platforms:
  - {name: native, type: native}
  - name: box
    type: container
    runtime: [runc, crun]
    network: [bridge, host]
  - name: vm
    type: vm
    vcpus: [1, 2]
    machine: [q35, microvm]
  - {name: pinned, type: vm, vcpus: 1, pin: [none, [0]]}
workloads:
  - {type: cpu}
gates:
  - {metric: cpu.throughput, platform: "vm[vcpus=2]", max_overhead: 10%}
  - {metric: cpu.throughput, platform: box, max_overhead: 5%}
`

// A platform whose options are lists expands into one platform per
// combination, named family[key=value,...], interleaved like any; gates
// address them by family or by some of their values.
func TestPlatformMatrix(t *testing.T) {
	s, err := Load("m.yaml", []byte(matrix))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range s.Platforms {
		names = append(names, p.Name)
	}
	want := "native box[runtime=runc,network=bridge] box[runtime=runc,network=host] box[runtime=crun,network=bridge] box[runtime=crun,network=host] vm[vcpus=1,machine=q35] vm[vcpus=1,machine=microvm] vm[vcpus=2,machine=q35] vm[vcpus=2,machine=microvm] pinned[pin=none] pinned[pin=0]"
	if strings.Join(names, " ") != want {
		t.Fatalf("platforms %v", names)
	}
	crunHost, vm2 := s.Platforms[4], s.Platforms[8]
	if crunHost.Container.Runtime != "crun" || crunHost.Container.Network != "host" || vm2.VM.VCPUs != 2 || vm2.VM.Machine != "microvm" || len(s.Platforms[9].VM.Pin) != 0 || len(s.Platforms[10].VM.Pin) != 1 {
		t.Errorf("options not applied: %+v %+v", crunHost.Container, vm2.VM)
	}
	if g := s.Gates[0].Platforms; strings.Join(g, " ") != "vm[vcpus=2,machine=q35] vm[vcpus=2,machine=microvm]" {
		t.Errorf("vm[vcpus=2] selects %v", g)
	}
	if g := s.Gates[1].Platforms; len(g) != 4 {
		t.Errorf("box selects %v", g)
	}
	// The summary compares a matrix's first platform across types, and
	// each other one with it.
	cmp := s.Comparisons()
	if !slices.Contains(cmp, [2]string{"vm[vcpus=1,machine=q35]", "box[runtime=runc,network=bridge]"}) ||
		!slices.Contains(cmp, [2]string{"vm[vcpus=2,machine=microvm]", "vm[vcpus=1,machine=q35]"}) ||
		slices.Contains(cmp, [2]string{"vm[vcpus=2,machine=q35]", "box[runtime=crun,network=host]"}) {
		t.Errorf("comparisons %v", cmp)
	}
	if d := Describe(s); !strings.HasPrefix(d, "11 platforms (10 from the matrices of box, vm, pinned) × 1 variant") {
		t.Errorf("plan: %s", d)
	}
	// A bad value is located at its place in the list.
	_, err = Load("m.yaml", []byte(strings.Replace(matrix, "vcpus: [1, 2]", "vcpus: [1, 0]", 1)))
	if err == nil || strings.Count(err.Error(), "vcpus[1]") != 1 || !strings.Contains(err.Error(), "m.yaml:11:16: platforms[2].vcpus[1]: must be between 1 and 256, got 0") {
		t.Errorf("err = %v", err)
	}
}

func TestRunscNeedsNoneOrHostNetwork(t *testing.T) {
	_, err := Load("g.yaml", []byte("version: 1\nname: g\nplatforms:\n  - {name: g, type: container, runtime: runsc, network: [none, bridge]}\nworkloads:\n  - {type: cpu}\n"))
	if err == nil || !strings.Contains(err.Error(), "g.yaml:4:64: platforms[0].network[1]: runtime runsc without an engine runs here with network: none or host") {
		t.Errorf("err = %v", err)
	}
	// Behind an engine gVisor has the engine's bridge, but a client on the
	// host cannot tell when its server listens.
	if _, err := Load("g.yaml", []byte("version: 1\nname: g\nplatforms:\n  - {name: g, type: container, engine: docker, runtime: runsc, network: bridge}\nworkloads:\n  - {type: cpu}\n")); err != nil {
		t.Errorf("runsc behind docker on its bridge: %v", err)
	}
	_, err = Load("g.yaml", []byte("version: 1\nname: g\nplatforms:\n  - {name: g, type: container, engine: docker, runtime: runsc}\nworkloads:\n  - {type: net}\n"))
	if err == nil || !strings.Contains(err.Error(), "g.yaml:4:57: platforms[0].runtime: runsc behind engine docker cannot run net,") {
		t.Errorf("err = %v", err)
	}
	_, err = Load("g.yaml", []byte("version: 1\nname: g\nplatforms:\n  - {name: g, type: container, engine: kubernetes}\nworkloads:\n  - {type: cpu}\n"))
	if err == nil || !strings.Contains(err.Error(), "platforms[0].engine: must be docker or podman") {
		t.Errorf("err = %v", err)
	}
}

func TestWorkloadPlatforms(t *testing.T) {
	text := `version: 1
name: w
repetitions: 2
warmup: 0
platforms:
  - {name: native, type: native}
  - {name: runc, type: container, network: [host, nat]}
  - {name: vm, type: vm, vcpus: [1, 2]}
workloads:
  - {name: rr, type: net, params: {mode: rr}, platforms: [runc]}
  - {name: cpu, type: cpu, platforms: [vm, "runc[network=host]"]}
  - {name: all, type: syscall}
`
	s, err := Load("w.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	on := map[string][]string{}
	for _, tr := range Plan(s) {
		if tr.Rep == 0 {
			on[tr.Workload] = append(on[tr.Workload], tr.Platform)
		}
	}
	for w, want := range map[string]string{
		"rr":  "native runc[network=host] runc[network=nat]",
		"cpu": "native runc[network=host] vm[vcpus=1] vm[vcpus=2]",
		"all": "native runc[network=host] runc[network=nat] vm[vcpus=1] vm[vcpus=2]",
	} {
		got := on[w]
		slices.Sort(got)
		if strings.Join(got, " ") != want {
			t.Errorf("%s runs on %v, want %s (the baseline always)", w, got, want)
		}
	}
	if n, want := Trials(s), 2*(3+4+5); n != want || len(Plan(s)) != want {
		t.Errorf("Trials = %d, Plan has %d, want %d", n, len(Plan(s)), want)
	}
	_, err = Load("w.yaml", []byte(strings.Replace(text, "platforms: [runc]", "platforms: [rnuc]", 1)))
	if err == nil || !strings.Contains(err.Error(), `w.yaml:10:59: workloads[0].platforms[0]: "rnuc" is not a platform or matrix of this scenario`) {
		t.Errorf("err = %v", err)
	}
}

// A bad app workload is located at its field.
func TestAppErrors(t *testing.T) {
	const good = `version: 1
name: a
tools_image: /tmp/img.tar
platforms:
  - {name: native, type: native}
workloads:
  - name: mine
    type: app
    app:
      command: [/usr/bin/mine, --fast]
      metrics:
        - {name: rate, unit: ops/s, regex: 'rate=(?P<value>[0-9.]+)'}
`
	// tools_image must exist for Load to accept it.
	if err := os.WriteFile("/tmp/img.tar", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/tmp/img.tar")
	if _, err := Load("a.yaml", []byte(good)); err != nil {
		t.Fatalf("good: %v", err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"tools_image: /tmp/img.tar\n", "", "a.yaml:9:7: workloads[0].app: an app runs in your image: set tools_image:"},
		{"regex: 'rate=(?P<value>[0-9.]+)'", "regex: 'rate=([0-9.]+)'", "a.yaml:12:44: workloads[0].app.metrics[0].regex: has no group named value"},
		{"      metrics:\n        - {name: rate, unit: ops/s, regex: 'rate=(?P<value>[0-9.]+)'}\n", "      parser: ab\n", "a.yaml:11:15: workloads[0].app.parser: unknown parser \"ab\""},
		{"      command: [/usr/bin/mine, --fast]\n", "      command: [/usr/bin/mine, --fast]\n      port: 70000\n      client: [wrk, \"http://{addr}:{port}/\"]\n", "a.yaml:11:13: workloads[0].app.port: must be a TCP port, 1–65535, got 70000"},
		{"      command: [/usr/bin/mine, --fast]\n", "      command: /usr/bin/mine --fast\n", "a.yaml:10:16: workloads[0].app.command: must be a list of strings, one per argument"},
		{"      command: [/usr/bin/mine, --fast]\n", "      command: [/usr/bin/mine]\n      port: 8080\n", "workloads[0].app.client: a server (port: 8080) needs the client command"},
		// A unit goes into bench.txt, CSV and Markdown: a newline forged
		// benchmark lines, a leading = a spreadsheet formula.
		{"unit: ops/s", `unit: "ops/s\nBenchmarkForged 1 1 ns/op"`, "workloads[0].app.metrics[0].unit: must name the metric's unit"},
		{"unit: ops/s", `unit: "=HYPERLINK(1)"`, "workloads[0].app.metrics[0].unit: must name the metric's unit"},
		{"unit: ops/s", `unit: "<b>x</b>"`, "workloads[0].app.metrics[0].unit: must name the metric's unit"},
		// Guessed from the unit, fps would read as a time and errors/s as
		// a rate: the verdicts on them backwards.
		{"unit: ops/s", "unit: fps", `workloads[0].app.metrics[0].better: the unit "fps" does not say which way is better: add better: higher`},
		{"unit: ops/s", "unit: ops/s, better: sideways", `workloads[0].app.metrics[0].better: must be higher or lower, got "sideways"`},
		{"regex: 'rate=(?P<value>[0-9.]+)'", "regex: '(?P<value>[0-9]{1000})'", "workloads[0].app.metrics[0].regex: is too large: 1004 instructions compiled, at most 200"},
	} {
		text := strings.Replace(good, tc.from, tc.to, 1)
		if text == good {
			t.Fatalf("%q does not change the scenario", tc.from)
		}
		_, err := Load("a.yaml", []byte(text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q → %q: err = %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
}
