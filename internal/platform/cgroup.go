package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// cgroupDirs lists the directories of cgroup path in every hierarchy mounted
// under root (v1: one per controller; v2: one), those that exist.
func cgroupDirs(root, path string) []string {
	var dirs []string
	if fi, err := os.Stat(filepath.Join(root, path)); err == nil && fi.IsDir() {
		dirs = append(dirs, filepath.Join(root, path))
	}
	matches, _ := filepath.Glob(filepath.Join(root, "*", strings.TrimPrefix(path, "/")))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() && !slices.Contains(dirs, m) {
			dirs = append(dirs, m)
		}
	}
	return dirs
}

// RemoveCgroup removes cgroup path from every hierarchy under root, its
// children first. Processes still in it are killed first: they are what a
// container left (a gVisor sandbox whose start failed outlives its
// container), and the cgroup is vmbench's own.
func RemoveCgroup(root, path string) error {
	for range 50 {
		pids := cgroupPIDs(root, path, "")
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var errs []error
	for _, dir := range cgroupDirs(root, path) {
		var sub []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				sub = append(sub, p)
			}
			return nil
		})
		for _, d := range slices.Backward(sub) {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// cgroupPIDs returns the processes in cgroup path or below it, read from
// the first hierarchy under root that has it, leaving out the child cgroup
// named skip ("": none).
func cgroupPIDs(root, path, skip string) []int {
	dirs := cgroupDirs(root, path)
	if len(dirs) == 0 {
		return nil
	}
	var pids []int
	filepath.WalkDir(dirs[0], func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && skip != "" && d.Name() == skip && p != dirs[0] {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// Cgroups lists the cgroups directly under the root of the hierarchies
// mounted at root whose names start with prefix, as paths ("/vmbench-…"):
// the cgroup parents of engine containers and runc's containers.
func Cgroups(root, prefix string) []string {
	var out []string
	for _, pattern := range []string{filepath.Join(root, prefix+"*"), filepath.Join(root, "*", prefix+"*")} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() && !slices.Contains(out, "/"+filepath.Base(m)) {
				out = append(out, "/"+filepath.Base(m))
			}
		}
	}
	slices.Sort(out)
	return out
}
