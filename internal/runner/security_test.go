package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
        - {name: planted, unit: links, better: lower, regex: 'planted (?P<value>\d+)'}
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
