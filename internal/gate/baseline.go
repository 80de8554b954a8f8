package gate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmbench/vmbench/internal/result"
)

// baselineKind marks a baseline file, so that a wrong file is told apart
// from a broken one.
const baselineKind = "vmbench-baseline"

// baselineFile is what `vmbench baseline save` writes: the run's
// description and its measured trials, warmups left out, one per line so
// that a diff of a committed baseline reads well.
type baselineFile struct {
	Schema  int               `json:"schema"`
	Kind    string            `json:"kind"`
	Run     result.RunInfo    `json:"run"`
	Samples []json.RawMessage `json:"samples"`
}

// SaveBaseline writes the measured samples of a run to path and returns
// how many it wrote.
func SaveBaseline(path string, info result.RunInfo, samples []result.Sample) (int, error) {
	run, err := json.MarshalIndent(info, "  ", "  ")
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n  \"schema\": %d,\n  \"kind\": %q,\n  \"run\": %s,\n  \"samples\": [", result.SchemaVersion, baselineKind, run)
	n := 0
	for _, s := range samples {
		if s.Warmup {
			continue
		}
		s.Schema = result.SchemaVersion
		line, err := json.Marshal(s)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		b.Write(line)
		n++
	}
	b.WriteString("\n  ]\n}\n")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return n, os.Rename(tmp, path)
}

// LoadBaseline reads a run directory or a baseline file.
func LoadBaseline(path string) (*Baseline, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		run, err := result.Open(path)
		if err != nil {
			return nil, err
		}
		return &Baseline{Source: path, Info: run.Info, Samples: run.Samples}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f baselineFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a baseline file (vmbench baseline save writes one): %w", path, err)
	}
	if f.Kind != baselineKind {
		return nil, fmt.Errorf("%s: not a baseline file (kind %q; vmbench baseline save writes one, or give a run directory)", path, f.Kind)
	}
	if f.Schema > result.SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d is newer than this vmbench understands (%d): upgrade vmbench", path, f.Schema, result.SchemaVersion)
	}
	out := &Baseline{Source: filepath.Clean(path), Info: f.Run}
	for i, raw := range f.Samples {
		var s result.Sample
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: sample %d: %w", path, i, err)
		}
		out.Samples = append(out.Samples, s)
	}
	return out, nil
}
