// Package fleet merges the runs of several hosts (what the Ansible playbook
// in deploy/ansible fetches back) into one fleet run, written like any run,
// with the host as a dimension of its samples.
package fleet

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmbench/vmbench/internal/result"
)

// StatusFile is what the playbook writes for each host beside its run:
// whether the host's stages (doctor, run) went through, and why not.
const StatusFile = "fleet-status.json"

// Status is a host's StatusFile.
type Status struct {
	Host   string `json:"host"`
	Status string `json:"status"` // ok or failed
	Stage  string `json:"stage,omitempty"`
	Error  string `json:"error,omitempty"`
	Doctor string `json:"doctor,omitempty"` // vmbench doctor's output
}

// host is one input: a host directory of the playbook (StatusFile, and
// the run under run/), or a plain run directory.
type host struct {
	name    string
	dir     string // the run directory; "" when the host has none
	status  Status
	info    result.RunInfo
	samples []result.Sample
}

// read reads one input directory.
func read(dir string) (host, error) {
	h := host{name: filepath.Base(filepath.Clean(dir)), status: Status{Status: "ok"}}
	if b, err := os.ReadFile(filepath.Join(dir, StatusFile)); err == nil {
		if err := json.Unmarshal(b, &h.status); err != nil {
			return h, fmt.Errorf("%s: %w", filepath.Join(dir, StatusFile), err)
		}
		h.name = cmp.Or(h.status.Host, h.name)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return h, err
	}
	for _, d := range []string{dir, filepath.Join(dir, "run")} {
		if _, err := os.Stat(filepath.Join(d, "run.json")); err == nil {
			h.dir = d
			break
		}
	}
	if h.dir == "" {
		if h.status.Status == "ok" && h.status.Host == "" {
			return h, fmt.Errorf("%s holds no run (no run.json) and no %s: give run directories, or the host directories the playbook fetched", dir, StatusFile)
		}
		if h.status.Status == "ok" {
			h.status.Status, h.status.Error = "failed", cmp.Or(h.status.Error, "no run came back")
		}
		return h, nil
	}
	run, err := result.Open(h.dir)
	if err != nil {
		return h, err
	}
	h.info, h.samples = run.Info, run.Samples
	if h.status.Host == "" {
		h.name = cmp.Or(h.info.Labels["host"], h.info.Host.Hostname, h.name)
	}
	return h, nil
}

// Merge reads the hosts' directories and writes the fleet run into out,
// which must not exist. A host that failed (its status says so, or it has
// no run) is recorded and left out; the others merge. It fails when no
// host has a run, or when the runs are of different scenarios: errors in
// what was given are InputErrors.
func Merge(dirs []string, out, runID string) (result.RunInfo, error) {
	info, samples, err := gather(dirs, runID)
	if err != nil {
		return info, &InputError{err}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return info, err
	}
	if err := os.Mkdir(out, result.DirMode); err != nil {
		return info, fmt.Errorf("the fleet run's directory: %w", err)
	}
	if err := result.WriteRun(out, info); err != nil {
		return info, err
	}
	w, err := result.CreateSamples(out)
	if err != nil {
		return info, err
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			w.Close()
			return info, err
		}
	}
	return info, w.Close()
}

// InputError is an error in what Merge was given, not in writing.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// gather reads the hosts' runs and makes the fleet run's info and samples.
func gather(dirs []string, runID string) (result.RunInfo, []result.Sample, error) {
	if len(dirs) == 0 {
		return result.RunInfo{}, nil, errors.New("no run to merge: give the hosts' directories")
	}
	var hosts []host
	for _, d := range dirs {
		h, err := read(d)
		if err != nil {
			return result.RunInfo{}, nil, err
		}
		if slices.ContainsFunc(hosts, func(o host) bool { return o.name == h.name }) {
			return result.RunInfo{}, nil, fmt.Errorf("%s: host %s is given twice (a host is named by its run's label host=, else its hostname: vmbench run --label host=NAME tells runs of one machine apart)", d, h.name)
		}
		hosts = append(hosts, h)
	}
	var first *host
	for i := range hosts {
		if hosts[i].dir != "" {
			first = &hosts[i]
			break
		}
	}
	if first == nil {
		var why []string
		for _, h := range hosts {
			why = append(why, h.name+": "+cmp.Or(h.status.Error, "no run"))
		}
		return result.RunInfo{}, nil, fmt.Errorf("no host has a run to merge (%s)", strings.Join(why, "; "))
	}
	info := first.info
	info.RunID, info.Labels, info.Retries, info.Adaptive, info.Resumes, info.Lab = runID, map[string]string{"fleet": fmt.Sprint(len(hosts)) + " hosts"}, nil, nil, nil, nil
	info.Host = result.Host{Hostname: "fleet of " + fmt.Sprint(len(hosts))}
	info.Fleet = &result.Fleet{}
	var samples []result.Sample
	for _, h := range hosts {
		fh := result.FleetHost{Name: h.name, Status: h.status.Status, Error: h.status.Error, Doctor: verdictLine(h.status.Doctor)}
		if h.dir != "" {
			if h.info.Scenario.Name != first.info.Scenario.Name || h.info.Baseline != first.info.Baseline {
				return result.RunInfo{}, nil, fmt.Errorf("%s ran scenario %q (baseline %s), %s ran %q (baseline %s): a fleet run merges runs of one scenario",
					h.name, h.info.Scenario.Name, h.info.Baseline, first.name, first.info.Scenario.Name, first.info.Baseline)
			}
			// The fleet run keeps one scenario text, which a retry may run:
			// every host must have run the very same one.
			if h.info.Scenario.SHA256 != first.info.Scenario.SHA256 {
				return result.RunInfo{}, nil, fmt.Errorf("%s ran scenario %q with sha256 %.12s, %s with %.12s: a fleet run merges runs of one scenario file (run the same file on every host)",
					h.name, h.info.Scenario.Name, h.info.Scenario.SHA256, first.name, first.info.Scenario.SHA256)
			}
			fh.RunID, fh.Host, fh.QEMU = h.info.RunID, h.info.Host, h.info.Tools["qemu-system-x86_64"]
			for _, p := range h.info.Platforms {
				if a := p.Info["accel"]; a != "" {
					if fh.Accel == nil {
						fh.Accel = map[string]string{}
					}
					fh.Accel[p.Name] = a
				}
			}
			info.Start = minTime(info.Start, h.info.Start)
			if h.info.End.After(info.End) {
				info.End = h.info.End
			}
			info.Interrupted = info.Interrupted || h.info.Interrupted
			for _, s := range h.samples {
				s.Host, s.RunID, s.Profile = h.name, runID, ""
				samples = append(samples, s)
			}
		}
		info.Fleet.Hosts = append(info.Fleet.Hosts, fh)
	}
	info.Fleet.Warnings = differences(info.Fleet.Hosts)
	return info, samples, nil
}

// differences says where the hosts with a run differ.
func differences(hosts []result.FleetHost) []string {
	var out []string
	var ok []result.FleetHost
	for _, h := range hosts {
		if h.Status == "ok" {
			ok = append(ok, h)
		}
	}
	for _, f := range []struct {
		what string
		of   func(result.FleetHost) string
	}{
		{"CPU model", func(h result.FleetHost) string { return h.Host.CPUModel }},
		{"kernel", func(h result.FleetHost) string { return h.Host.Kernel }},
		{"QEMU", func(h result.FleetHost) string { return h.QEMU }},
		{"accelerator", func(h result.FleetHost) string { return accels(h.Accel) }},
	} {
		seen := map[string][]string{}
		var order []string
		for _, h := range ok {
			v := cmp.Or(f.of(h), "unknown")
			if seen[v] == nil {
				order = append(order, v)
			}
			seen[v] = append(seen[v], h.Name)
		}
		if len(order) > 1 {
			var parts []string
			for _, v := range order {
				parts = append(parts, fmt.Sprintf("%s on %s", v, strings.Join(seen[v], ", ")))
			}
			out = append(out, fmt.Sprintf("the hosts differ in %s: %s; the fleet's numbers mix them", f.what, strings.Join(parts, "; ")))
		}
	}
	return out
}

func accels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// verdictLine is the last line of vmbench doctor's output, its verdict
// ("platforms of the scenario: native: can run; container: cannot run
// (…)"); its first line is only the first check.
func verdictLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
