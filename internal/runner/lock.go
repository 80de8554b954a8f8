package runner

import (
	"fmt"
	"io"
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
//
// Without a working lock directory vmbench does not run: cleanup could not
// tell its resources from a killed run's.
func LockRun(runID string) (release func(), err error) {
	if !result.RunIDPattern.MatchString(runID) && runID != DoctorID {
		return func() {}, fmt.Errorf("lock run %q: not a run id", runID)
	}
	if err := os.MkdirAll(LockDir, 0o755); err != nil {
		return func() {}, fmt.Errorf("the run lock directory: %w (vmbench keeps a lock per live run in %s, so that vmbench cleanup leaves live runs alone: run as root, or make it writable)", err, LockDir)
	}
	path := filepath.Join(LockDir, runID+".lock")
	var f *os.File
	for {
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644); err != nil {
			return func() {}, fmt.Errorf("the run lock: %w (vmbench keeps a lock per live run in %s, so that vmbench cleanup leaves live runs alone)", err, LockDir)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if runID == DoctorID {
				return func() {}, fmt.Errorf("vmbench doctor is running in another process: %w", err)
			}
			return func() {}, fmt.Errorf("run %s is alive in another process: %w", runID, err)
		}
		// Locked: unless cleanup removed the file as stale meanwhile, in
		// which case this lock is on a name no one sees; lock it anew.
		if same(f, path) {
			break
		}
		f.Close()
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return func() {
		os.Remove(path)
		f.Close()
	}, nil
}

// DoctorID is the run id of vmbench doctor's probes (vmbench-doctor-…).
const DoctorID = "doctor"

// same reports whether f is the file at path now.
func same(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// removeStaleLocks removes the lock files no process holds (a run killed
// with kill -9 leaves its file; the kernel has dropped its lock), and
// lists them on log.
func removeStaleLocks(dryRun bool, log io.Writer) {
	locks, _ := filepath.Glob(filepath.Join(LockDir, "*.lock"))
	for _, l := range locks {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && same(f, l) {
			fmt.Fprintf(log, "%s stale lock %s\n", map[bool]string{true: "would remove", false: "removed"}[dryRun], l)
			if !dryRun {
				os.Remove(l) // while held: LockRun sees the name gone and locks anew
			}
		}
		f.Close()
	}
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
