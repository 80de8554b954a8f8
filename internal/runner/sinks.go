package runner

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/vmbench/vmbench/internal/collect"
	"github.com/vmbench/vmbench/internal/result"
	"github.com/vmbench/vmbench/internal/safefs"
)

// sinks are where a run's trials are written: samples.jsonl, series.jsonl
// and profiles/.
type sinks struct {
	dir     string
	samples *result.SampleWriter
	traces  *result.TraceWriter
	host    collect.Sampler
}

func openSinks(dir string) (*sinks, error) {
	samples, err := result.CreateSamples(dir)
	if err != nil {
		return nil, err
	}
	traces, err := result.CreateTraces(dir)
	if err != nil {
		samples.Close()
		return nil, err
	}
	return &sinks{dir: dir, samples: samples, traces: traces, host: collect.NewHost("host", "/")}, nil
}

func (w *sinks) Close() error { return errors.Join(w.samples.Close(), w.traces.Close()) }

// profile writes a trial's CPU profile (result.ProfilePath) and returns
// its path relative to the run directory.
func (w *sinks) profile(s result.Sample, data []byte) (string, error) {
	rel := result.ProfilePath(s)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(w.dir, rel)), result.DirMode); err != nil {
		return "", err
	}
	return rel, safefs.WriteFile(w.dir, rel, data, result.FileMode)
}
