package result

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReaders: a stored run's files, however damaged, read back as data
// or as an error, never a panic.
func FuzzReaders(f *testing.F) {
	f.Add([]byte(`{"schema":1,"run_id":"x","workload":"cpu","platform":"native","metrics":[{"name":"throughput","unit":"B/s","value":1}],"level":2,"instance":1}` + "\n"))
	f.Add([]byte(`{"schema":99}` + "\n"))
	f.Add([]byte("{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodeSamples(bytes.NewReader(data), "fuzz")
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "run.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ReadRun(dir)
	})
}
