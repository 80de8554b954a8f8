package platform

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
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
