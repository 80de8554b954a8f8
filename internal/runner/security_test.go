package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmbench/vmbench/internal/result"
)

// A program in a container (an app from a user's image) plants its scratch
// directory's disk file as a link to a host file; the disk workload then
// runs natively, as root on the host, and in the container. The host file
// must stay as it was: each instance has a scratch directory of its own,
// and the disk file is opened only as a regular file.
func TestContainerCannotSteerRootsWrites(t *testing.T) {
	needRuntime(t, "runc")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, samples, err := run(t, context.Background(), load(t, fmt.Sprintf(`version: 1
name: plant
repetitions: 2
warmup: 0
sample_interval: 0s
tools_image: %s
platforms:
  - {name: native, type: native}
  - {name: box, type: container}
workloads:
  - name: plant
    type: app
    app:
      command: [hello, plant, %s]
      metrics:
        - {name: planted, unit: links, regex: 'planted (?P<value>\d+)'}
  - {name: disk, type: disk, params: {op: write, size: 1MiB, duration: 20ms, direct: "false"}}
`, helloImage(t), victim)))
	t.Logf("run: %v", err)
	planted, nativeDisk := 0.0, 0
	for _, s := range samples {
		switch {
		case s.Workload == "plant" && s.Platform == "box" && s.Error == "":
			planted += s.Metrics[0].Value
		case s.Workload == "disk" && s.Platform == "native":
			if s.Error != "" {
				t.Errorf("native disk trial failed: %s", s.Error)
			}
			nativeDisk++
		case s.Workload == "disk" && s.Platform == "box" && s.Error != "" && !strings.Contains(s.Error, "symbolic link"):
			t.Errorf("the container's disk trial failed, but not on the planted link: %s", s.Error)
		}
	}
	if planted < 1 || nativeDisk < 2 {
		t.Fatalf("the attack did not happen: %g links planted, %d native disk trials", planted, nativeDisk)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Errorf("the host file the container pointed at was written: %d bytes, %v", len(b), err)
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
	dir, id, err := makeRunDir(results, func() string { id := ids[0]; ids = ids[1:]; return id }, &log)
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
		tag := result.Tag(freeRunID(time.Now(), live, linkTaken))
		if linkTaken(tag) || tag == "0001" || tag == "0003" {
			t.Fatalf("tag %s is taken", tag)
		}
	}
}
