package platform

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestSpecGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    SpecOptions
	}{
		{"plain", SpecOptions{ID: "vmbench-r-1", Args: []string{"/vmbench", "agent", "run", "{}"}}},
		{"limits", SpecOptions{ID: "vmbench-r-2", Args: []string{"/vmbench"}, CPUs: 1.5, Memory: 512 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.MarshalIndent(Spec(tc.o), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "spec-"+tc.name+".json")
			if *update {
				os.WriteFile(path, got, 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("config.json differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
	s := Spec(SpecOptions{ID: "x", CPUs: 1.5, Memory: 1 << 30})
	if *s.Linux.Resources.CPU.Quota != 150000 || *s.Linux.Resources.Memory.Limit != 1<<30 {
		t.Errorf("limits not applied: %+v", s.Linux.Resources)
	}
	if s.Version != "1.0.2" || !s.Root.Readonly || s.Linux.CgroupsPath != "/x" {
		t.Errorf("spec %+v", s)
	}
}

func TestCheckStatic(t *testing.T) {
	if err := CheckStatic("/bin/sh"); err == nil {
		t.Error("/bin/sh is dynamically linked, CheckStatic accepted it")
	}
	if err := CheckStatic("/nonexistent"); err == nil {
		t.Error("missing file accepted")
	}
}

// Bundles of one run share the agent: each rootfs's agent is a link to the
// one binary (one file, its pages shared between instances as an image's
// layers are), where the two share a file system; the rootfs is mounted
// read-only, so no container writes through it.
func TestBundlesShareTheAgent(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vmbench")
	os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755)
	var inodes []uint64
	for _, b := range []string{"a", "b"} {
		if err := WriteRootfs(filepath.Join(dir, b), bin); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dir, b, "rootfs", "vmbench"))
		if err != nil {
			t.Fatal(err)
		}
		inodes = append(inodes, st.Sys().(*syscall.Stat_t).Ino)
	}
	if self, _ := os.Stat(bin); inodes[0] != inodes[1] || inodes[0] != self.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("the bundles' agents are inodes %v, not the binary's: each instance maps its own copy", inodes)
	}
	if s := Spec(SpecOptions{ID: "x", Args: []string{"/vmbench"}}); !s.Root.Readonly {
		t.Error("the rootfs is writable: a container could write the shared agent")
	}
}
