package gate

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBaseline: a baseline file, whatever it holds, loads or is
// refused.
func FuzzLoadBaseline(f *testing.F) {
	if b, err := os.ReadFile("testdata/run/samples.jsonl"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"vmbench-baseline","schema":1}` + "\n"))
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "baseline.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		LoadBaseline(path)
	})
}
