package hostinfo

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUPressure reads the kernel's CPU pressure stall counter: how long, in
// all, some task on the host has waited for a CPU (/proc/pressure/cpu,
// "some … total=µs"). ok is false on a kernel without PSI.
func CPUPressure() (stalled time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, found := strings.CutPrefix(f, "total="); found {
				us, err := strconv.ParseInt(v, 10, 64)
				return time.Duration(us) * time.Microsecond, err == nil
			}
		}
	}
	return 0, false
}

// PressureOver is the share of wall during which some task waited for a
// CPU, from two readings of CPUPressure.
func PressureOver(before, after time.Duration, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return min(max(float64(after-before)/float64(wall), 0), 1)
}
