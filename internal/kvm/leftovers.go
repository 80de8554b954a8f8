package kvm

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is a QEMU process found under /proc.
type Process struct {
	PID  int
	Name string // the -name given to QEMU
}

// Leftovers lists QEMU processes whose -name starts with prefix, read from
// procRoot (normally /proc): the guests of runs that were killed too hard to
// tear down.
func Leftovers(procRoot, prefix string) []Process {
	entries, _ := os.ReadDir(procRoot)
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "qemu-system") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-name" && strings.HasPrefix(args[i+1], prefix) {
				name, _, _ := strings.Cut(args[i+1], ",")
				out = append(out, Process{PID: pid, Name: name})
			}
		}
	}
	return out
}
