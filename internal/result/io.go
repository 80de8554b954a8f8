package result

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File names inside a run directory.
const (
	RunFile     = "run.json"
	SamplesFile = "samples.jsonl"
)

// SampleWriter appends samples to samples.jsonl and syncs after each one, so
// that a crash loses at most the trial in flight.
type SampleWriter struct {
	f *os.File
}

// CreateSamples opens dir/samples.jsonl for appending.
func CreateSamples(dir string) (*SampleWriter, error) {
	f, err := os.OpenFile(filepath.Join(dir, SamplesFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &SampleWriter{f: f}, nil
}

// Write appends one sample as a JSON line and syncs it to disk.
func (w *SampleWriter) Write(s Sample) error {
	s.Schema = SchemaVersion
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode sample: %w", err)
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write sample: %w", err)
	}
	return w.f.Sync()
}

// Close closes the file.
func (w *SampleWriter) Close() error { return w.f.Close() }

// WriteRun writes run.json atomically (temp file, then rename), so a reader
// never sees half of it.
func WriteRun(dir string, info RunInfo) error {
	info.Schema = SchemaVersion
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run info: %w", err)
	}
	tmp := filepath.Join(dir, "."+RunFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, RunFile))
}

// ReadRun reads dir/run.json.
func ReadRun(dir string) (RunInfo, error) {
	var info RunInfo
	b, err := os.ReadFile(filepath.Join(dir, RunFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, RunFile), err)
	}
	if info.Schema > SchemaVersion {
		return info, fmt.Errorf("%s: schema %d is newer than this vmbench understands (%d): upgrade vmbench", filepath.Join(dir, RunFile), info.Schema, SchemaVersion)
	}
	return info, nil
}

// ReadSamples reads dir/samples.jsonl. A truncated last line, which is what a
// crash in the middle of a write leaves, is ignored; any other bad line is an
// error naming its line number.
func ReadSamples(dir string) ([]Sample, error) {
	path := filepath.Join(dir, SamplesFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeSamples(f, path)
}

// DecodeSamples reads JSON lines from r; name is used in error messages.
func DecodeSamples(r io.Reader, name string) ([]Sample, error) {
	var out []Sample
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		complete := err == nil
		if err != nil && !errors.Is(err, io.EOF) {
			return out, err
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			var s Sample
			if jerr := json.Unmarshal(b, &s); jerr != nil {
				if !complete {
					return out, nil // the torn write of a crash
				}
				return out, fmt.Errorf("%s:%d: %w", name, line, jerr)
			}
			if s.Schema > SchemaVersion {
				return out, fmt.Errorf("%s:%d: schema %d is newer than this vmbench understands (%d)", name, line, s.Schema, SchemaVersion)
			}
			out = append(out, s)
		}
		if !complete {
			return out, nil
		}
	}
}
