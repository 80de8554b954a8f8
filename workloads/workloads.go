// Package workloads is the table of every workload vmbench knows. The agent
// runs them, the scenario checks their parameters, `vmbench list` shows them.
package workloads

import (
	"github.com/vmbench/vmbench/internal/workload"
	"github.com/vmbench/vmbench/workloads/app"
	"github.com/vmbench/vmbench/workloads/cpu"
	"github.com/vmbench/vmbench/workloads/disk"
	"github.com/vmbench/vmbench/workloads/fio"
	"github.com/vmbench/vmbench/workloads/iperf3"
	"github.com/vmbench/vmbench/workloads/memlat"
	"github.com/vmbench/vmbench/workloads/memory"
	"github.com/vmbench/vmbench/workloads/network"
	"github.com/vmbench/vmbench/workloads/nginx"
	"github.com/vmbench/vmbench/workloads/redis"
	"github.com/vmbench/vmbench/workloads/startup"
	"github.com/vmbench/vmbench/workloads/stressng"
	"github.com/vmbench/vmbench/workloads/sysbench"
	"github.com/vmbench/vmbench/workloads/syscalls"
)

// All returns every workload, in the order `vmbench list` shows them.
func All() []workload.Workload {
	return []workload.Workload{
		cpu.Workload{},
		memory.Workload{},
		memlat.Workload{},
		syscalls.Workload{},
		disk.Workload{},
		network.Workload{},
		startup.Workload{},
		fio.Workload{},
		sysbench.Workload{},
		stressng.Workload{},
		iperf3.Workload{},
		redis.Workload{},
		nginx.Workload{},
		app.Workload{},
	}
}

// Lookup returns the workload of the given type name.
func Lookup(name string) (workload.Workload, bool) {
	for _, w := range All() {
		if w.Name() == name {
			return w, true
		}
	}
	return nil, false
}

// Names lists the type names of all workloads.
func Names() []string {
	var names []string
	for _, w := range All() {
		names = append(names, w.Name())
	}
	return names
}
