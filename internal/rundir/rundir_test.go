package rundir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/result"
	"golang.org/x/sys/unix"
)

func TestLockMarksARunAlive(t *testing.T) {
	LockDir = t.TempDir()
	defer func() { LockDir = "/run/vmbench" }()
	const id = "20261129-101010-abcd"
	release, err := LockRun(id)
	if err != nil {
		t.Fatal(err)
	}
	if live := LiveRuns(); !slices.Equal(live, []string{id}) {
		t.Errorf("live runs %v, want %s", live, id)
	}
	if _, err := LockRun(id); err == nil || !strings.Contains(err.Error(), "is alive in another process") {
		t.Errorf("a second lock of a live run: %v", err)
	}
	release()
	if live := LiveRuns(); len(live) != 0 {
		t.Errorf("live runs after release: %v", live)
	}
	// A lock file whose holder died (no flock held) is not alive.
	os.WriteFile(filepath.Join(LockDir, "20261129-101011-beef.lock"), []byte("12345\n"), 0o644)
	if live := LiveRuns(); len(live) != 0 {
		t.Errorf("a dead run's lock file counts as alive: %v", live)
	}
}

// A run killed with kill -9 leaves its lock file; cleanup removes it, and
// only it: a live run's stays, and holds.
func TestCleanupRemovesStaleLocks(t *testing.T) {
	LockDir = t.TempDir()
	defer func() { LockDir = "/run/vmbench" }()
	stale := filepath.Join(LockDir, "20261129-101011-beef.lock")
	os.WriteFile(stale, []byte("12345\n"), 0o644)
	release, err := LockRun("20261129-101010-abcd")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var log strings.Builder
	RemoveStaleLocks(true, &log)
	if _, err := os.Stat(stale); err != nil || !strings.Contains(log.String(), "would remove stale lock "+stale) {
		t.Errorf("dry run: %v, %q", err, log.String())
	}
	RemoveStaleLocks(false, &log)
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale lock is still there")
	}
	if live := LiveRuns(); !slices.Equal(live, []string{"20261129-101010-abcd"}) {
		t.Errorf("live runs %v", live)
	}
}

// vmbench doctor locks too: a second doctor, or cleanup, sees it alive
// (runner.TestOwner: its guests are then left alone).
func TestDoctorLocks(t *testing.T) {
	LockDir = t.TempDir()
	defer func() { LockDir = "/run/vmbench" }()
	release, err := LockRun(DoctorID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := LockRun(DoctorID); err == nil || !strings.Contains(err.Error(), "vmbench doctor is running in another process") {
		t.Errorf("a second doctor: %v", err)
	}
	if live := LiveRuns(); len(live) != 1 || live[0] != DoctorID {
		t.Errorf("live runs %v, want the doctor", live)
	}
}

// A local user who can write the results directory makes the directory of
// the next run first, with links in it: the run takes another id, and
// writes nothing through them.
func TestRunDirectoryIsMadeExclusively(t *testing.T) {
	results := t.TempDir()
	os.Chmod(results, 0o777)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	taken := filepath.Join(results, "20261204-120000-aaaa")
	os.Mkdir(taken, 0o777)
	os.Symlink(victim, filepath.Join(taken, "samples.jsonl"))
	ids := []string{"20261204-120000-aaaa", "20261204-120000-bbbb"}
	var log strings.Builder
	dir, id, err := Make(results, func() string { id := ids[0]; ids = ids[1:]; return id }, &log)
	if err != nil || id != "20261204-120000-bbbb" || dir != filepath.Join(results, id) {
		t.Fatalf("made %s (%s), %v; want the second id", dir, id, err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o750 {
		t.Errorf("the run directory's mode: %v, want 0750", st.Mode())
	}
	if !strings.Contains(log.String(), "writable by every user") {
		t.Errorf("no warning about the shared results directory: %q", log.String())
	}
	// A stored run's directory (--resume, gate --retry) with a link
	// planted: the writers refuse it.
	if w, err := result.CreateSamples(taken); err == nil {
		w.Close()
		t.Error("samples.jsonl opened through a link")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the victim reads %q", b)
	}
}

// A new run's tag (the id's last 4 hex digits, which name its links) is
// none of a live run's, nor of a link the host has.
func TestRunIDTagIsFree(t *testing.T) {
	live := []string{"20261204-120000-0001", "20261204-120000-0003"}
	linkTaken := func(tag string) bool { return tag[3]%2 == 0 } // every other tag
	for range 200 {
		tag := result.Tag(FreeRunID(time.Now(), live, linkTaken))
		if linkTaken(tag) || tag == "0001" || tag == "0003" {
			t.Fatalf("tag %s is taken", tag)
		}
	}
}

// Another process's look at the live runs holds a lock file for a moment:
// a run that locks in that moment waits it out rather than fail.
func TestLockWaitsOutALook(t *testing.T) {
	LockDir = t.TempDir()
	defer func() { LockDir = "/run/vmbench" }()
	const id = "20261205-101010-abcd"
	path := filepath.Join(LockDir, id+".lock")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(100 * time.Millisecond); unix.Flock(int(f.Fd()), unix.LOCK_UN) }()
	release, err := LockRun(id)
	if err != nil {
		t.Fatalf("a run locking during a look: %v", err)
	}
	release()
}
