package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/result"
)

// LockDir holds a lock file per live run: <run-id>.lock, held with flock
// for as long as the run (or a retry of it) lives and holding its PID. A
// variable so that tests can point it elsewhere.
var LockDir = "/run/vmbench"

// LockRun marks a run as alive until release is called: `vmbench cleanup`
// leaves alone whatever belongs to a run whose lock is held. The kernel
// drops the lock when the process dies, however it dies.
func LockRun(runID string) (release func(), err error) {
	if !result.RunIDPattern.MatchString(runID) && runID != "doctor" {
		return func() {}, fmt.Errorf("lock run %q: not a run id", runID)
	}
	if err := os.MkdirAll(LockDir, 0o755); err != nil {
		return func() {}, err
	}
	path := filepath.Join(LockDir, runID+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return func() {}, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return func() {}, fmt.Errorf("run %s is alive in another process: %w", runID, err)
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return func() {
		os.Remove(path)
		f.Close()
	}, nil
}

// liveRuns lists the runs whose lock is held now.
func liveRuns() []string {
	locks, _ := filepath.Glob(filepath.Join(LockDir, "*.lock"))
	var out []string
	for _, l := range locks {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
			out = append(out, strings.TrimSuffix(filepath.Base(l), ".lock"))
		} else {
			unix.Flock(int(f.Fd()), unix.LOCK_UN)
		}
		f.Close()
	}
	return out
}

// Names of what a run creates: vmbench-<run-id>-… (containers, guests,
// temp and scratch dirs, network namespaces; vmbench doctor's guests are
// vmbench-doctor-…), or for the links and nftables tables, which must be
// short, vmbench-<the run id's last 4 hex digits><kind><n>.
var (
	runIDName = regexp.MustCompile(`^vmbench-(\d{8}-\d{6}-[0-9a-f]{4}|doctor)(?:-|$)`)
	tagName   = regexp.MustCompile(`^vmbench-([0-9a-f]{4})[bvtn]\d*$`)
)

// owner tells whose a resource named name is: ours is false when the name
// is not one vmbench gives (a user's /tmp/vmbench-mycheckout), alive names
// the live run it belongs to ("" when none does).
func owner(name string, live []string) (ours bool, alive string) {
	if m := runIDName.FindStringSubmatch(name); m != nil {
		for _, id := range live {
			if id == m[1] {
				return true, id
			}
		}
		return true, ""
	}
	if m := tagName.FindStringSubmatch(name); m != nil {
		for _, id := range live {
			if strings.HasSuffix(id, m[1]) {
				return true, id
			}
		}
		return true, ""
	}
	return false, ""
}
