// Package rundir is where runs live: run ids, the run directory made
// exclusively in a results directory, the latest link, and the run locks
// that mark live runs (so that vmbench cleanup leaves their resources
// alone). The runner, the lab, merge and cleanup share it.
package rundir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmbench/vmbench/internal/result"
)

// LockDir holds a lock file per live run: <run-id>.lock, held with flock
// for as long as the run (or a retry of it) lives and holding its PID. A
// variable so that tests can point it elsewhere.
var LockDir = defaultLockDir()

// defaultLockDir is /run/vmbench for root. A user who is not root runs
// native platforms only, which leave nothing on the host that root's
// cleanup removes: their locks are the user's own, in $XDG_RUNTIME_DIR
// (or the user's cache directory).
func defaultLockDir() string {
	if os.Geteuid() == 0 {
		return "/run/vmbench"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "vmbench")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "vmbench", "locks")
	}
	return "/run/vmbench"
}

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
		if err := lockSoon(f); err != nil {
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

// lockSoon takes f's lock, waiting out the moment another process's
// LiveRuns or RemoveStaleLocks holds it to look (microseconds); a live run
// holds it for good, and is refused after a second.
func lockSoon(f *os.File) (err error) {
	for range 50 {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
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

// RemoveStaleLocks removes the lock files no process holds (a run killed
// with kill -9 leaves its file; the kernel has dropped its lock), and
// lists them on log.
func RemoveStaleLocks(dryRun bool, log io.Writer) {
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

// LiveRuns lists the runs whose lock is held now.
func LiveRuns() []string {
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

// NewRunID returns a sortable, unique id such as 20261124-221500-3fa2.
func NewRunID(now time.Time) string {
	b := make([]byte, 2)
	rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// FreeRunID is a new run id whose tag (its last 4 hex digits, which name
// the run's links) no live run and no link of the host has: two runs at
// once would otherwise share a bridge's name 1 time in 65,536.
func FreeRunID(now time.Time, live []string, linkTaken func(string) bool) string {
	id := NewRunID(now)
	for range 1000 {
		tag := result.Tag(id)
		if !slices.ContainsFunc(live, func(l string) bool { return result.Tag(l) == tag }) && !linkTaken(tag) {
			break
		}
		id = NewRunID(now)
	}
	return id
}

// Make creates the run's directory in results under a new id, a
// directory that did not exist: vmbench writes as root only into a
// directory it has just made itself, never into one a local user made
// first (and filled with links). A taken id is passed over for another.
// A results root that others can write is warned about.
func Make(results string, newID func() string, log io.Writer) (dir, runID string, err error) {
	if err := os.MkdirAll(results, 0o755); err != nil {
		return "", "", fmt.Errorf("create the results directory: %w", err)
	}
	if st, err := os.Stat(results); err == nil && st.Mode().Perm()&0o002 != 0 {
		fmt.Fprintf(log, "warning: the results directory %s is writable by every user: a run directory is made there exclusively and written without following links, but another user can still remove or rename it; use a directory of root's (--results)\n", results)
	}
	for range 10 {
		runID = newID()
		dir = filepath.Join(results, runID)
		if err = os.Mkdir(dir, result.DirMode); !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("create run directory: %w", err)
	}
	return dir, runID, nil
}

// Latest is the symlink in the results directory that names the newest run.
const Latest = "latest"

// PointLatest makes ResultsDir/latest point at the run, replacing the
// previous link in one rename.
func PointLatest(results, runID string) error {
	tmp := filepath.Join(results, "."+Latest+"-"+runID)
	os.Remove(tmp)
	if err := os.Symlink(runID, tmp); err != nil {
		return fmt.Errorf("link %s: %w", Latest, err)
	}
	if err := os.Rename(tmp, filepath.Join(results, Latest)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", Latest, err)
	}
	return nil
}
