package kvm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; it is 100 on
// every Linux architecture vmbench runs on (x86-64, arm64).
const clockTicks = 100

// ProcessCPU returns the CPU time, user plus system, that every thread of
// process pid has used so far, in seconds, read from root/<pid>/stat.
func ProcessCPU(root string, pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses; the fields after
	// the last ")" are state (field 3) onwards: utime is field 14, stime 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s/%d/stat: no command name", root, pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s/%d/stat: %d fields after the name, want at least 13", root, pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s/%d/stat: utime %q, stime %q", root, pid, f[11], f[12])
	}
	return float64(utime+stime) / clockTicks, nil
}
