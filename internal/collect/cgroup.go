package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Cgroup samples one cgroup's CPU time and memory, on a cgroup v2 host
// (cpu.stat, memory.current) or a v1 or hybrid one (cpuacct.usage,
// memory.usage_in_bytes).
type Cgroup struct {
	Root string        // where the cgroup filesystems are mounted, "/sys/fs/cgroup"
	Path func() string // the cgroup under each hierarchy now, "/vmbench-…"; "" while there is none
}

var _ Sampler = (*Cgroup)(nil)

func (c *Cgroup) Name() string { return "cgroup" }

func (c *Cgroup) Fields() []Field {
	return []Field{
		{Name: "cpu", Unit: "s", Kind: Counter},
		{Name: "memory", Unit: "B", Kind: Gauge}, // page cache charged to the cgroup included
	}
}

// V2 reports whether root is a cgroup v2 (unified) mount.
func V2(root string) bool {
	_, err := os.Stat(filepath.Join(root, "cgroup.controllers"))
	return err == nil
}

func (c *Cgroup) Read(context.Context) ([]float64, error) {
	p := c.Path()
	if p == "" {
		return nil, ErrAbsent
	}
	var cpu, memory float64
	var err error
	if V2(c.Root) {
		dir := filepath.Join(c.Root, p)
		if cpu, err = keyed(filepath.Join(dir, "cpu.stat"), "usage_usec"); err == nil {
			cpu /= 1e6
			memory, err = single(filepath.Join(dir, "memory.current"))
		}
	} else {
		cpu, err = single(filepath.Join(c.Root, "cpuacct", p, "cpuacct.usage"))
		if errors.Is(err, fs.ErrNotExist) {
			cpu, err = single(filepath.Join(c.Root, "cpu,cpuacct", p, "cpuacct.usage"))
		}
		if err == nil {
			cpu /= 1e9
			memory, err = single(filepath.Join(c.Root, "memory", p, "memory.usage_in_bytes"))
		}
	}
	// Not created yet, or already removed: a file opened just before
	// its cgroup went reads as ENODEV.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) {
		return nil, ErrAbsent
	}
	if err != nil {
		return nil, err
	}
	return []float64{cpu, memory}, nil
}

// single reads a file that holds one number.
func single(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// keyed reads the value of key in a flat-keyed file ("key value" lines).
func keyed(path, key string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %s: %w", path, key, err)
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}
