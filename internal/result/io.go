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
	"regexp"
	"slices"
	"strings"

	"github.com/vmbench/vmbench/internal/safefs"
	"github.com/vmbench/vmbench/internal/untrusted"
)

// File names inside a run directory.
const (
	RunFile     = "run.json"
	SamplesFile = "samples.jsonl"
	SeriesFile  = "series.jsonl"
	ProfilesDir = "profiles"
)

// lines appends JSON lines to a file and syncs after each one, so that a
// crash loses at most the trial in flight.
type lines struct {
	f *os.File
}

func createLines(dir, name string) (lines, error) {
	f, err := safefs.OpenFile(dir, name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, FileMode)
	return lines{f}, err
}

func (w lines) write(what string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return w.f.Sync()
}

// Close closes the file.
func (w lines) Close() error { return w.f.Close() }

// SampleWriter appends samples to samples.jsonl.
type SampleWriter struct{ lines }

// CreateSamples opens dir/samples.jsonl for appending.
func CreateSamples(dir string) (*SampleWriter, error) {
	l, err := createLines(dir, SamplesFile)
	if err != nil {
		return nil, err
	}
	return &SampleWriter{l}, nil
}

// Write appends one sample as a JSON line and syncs it to disk. Its error
// and warnings, which a workload wrote (50 MiB of an app's output once
// became an error in every report), are kept to MaxError bytes, head and
// tail, with no terminal control sequence.
func (w *SampleWriter) Write(s Sample) error {
	s.Schema = SchemaVersion
	s.Error = untrusted.Cap(untrusted.Terminal(s.Error), MaxError)
	if len(s.Warnings) > 0 {
		s.Warnings = slices.Clone(s.Warnings)
		for i, m := range s.Warnings {
			s.Warnings[i] = untrusted.Cap(untrusted.Terminal(m), MaxError)
		}
	}
	return w.write("sample", s)
}

// MaxError bounds a sample's error and each of its warnings, in bytes.
const MaxError = 4096

// TraceWriter appends the samplers' time series of each trial to
// series.jsonl.
type TraceWriter struct{ lines }

// CreateTraces opens dir/series.jsonl for appending.
func CreateTraces(dir string) (*TraceWriter, error) {
	l, err := createLines(dir, SeriesFile)
	if err != nil {
		return nil, err
	}
	return &TraceWriter{l}, nil
}

// Write appends one trial's series as a JSON line and syncs it to disk.
func (w *TraceWriter) Write(t Trace) error {
	t.Schema = SchemaVersion
	return w.write("series", t)
}

// WriteRun writes run.json atomically (temp file, then rename), so a reader
// never sees half of it.
func WriteRun(dir string, info RunInfo) error {
	info.Schema = SchemaVersion
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run info: %w", err)
	}
	tmp := "." + RunFile + ".tmp"
	if err := safefs.WriteFile(dir, tmp, append(b, '\n'), FileMode); err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, tmp), filepath.Join(dir, RunFile))
}

// Run is a stored run: its directory, run.json and samples.jsonl.
type Run struct {
	Dir     string
	Info    RunInfo
	Samples []Sample
}

// Open reads the run stored in dir: the one loader of report, gate,
// resume, retry and merge.
func Open(dir string) (Run, error) {
	info, err := ReadRun(dir)
	if err != nil {
		return Run{}, err
	}
	samples, err := ReadSamples(dir)
	if err != nil {
		return Run{}, err
	}
	return Run{Dir: dir, Info: info, Samples: samples}, nil
}

// ReadRun reads dir/run.json.
func ReadRun(dir string) (RunInfo, error) {
	var info RunInfo
	b, err := safefs.ReadFile(dir, RunFile, maxRunFile)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, RunFile), err)
	}
	if info.Schema > SchemaVersion {
		return info, fmt.Errorf("%s: schema %d is newer than this vmbench understands (%d): upgrade vmbench", filepath.Join(dir, RunFile), info.Schema, SchemaVersion)
	}
	// The id names lock files and the resources a retry creates: a stored
	// run (perhaps fetched from another host) gets no say in paths.
	if !RunIDPattern.MatchString(info.RunID) {
		return info, fmt.Errorf("%s: run_id %q is not a run id (YYYYMMDD-HHMMSS-xxxx): a damaged or forged run", filepath.Join(dir, RunFile), info.RunID)
	}
	return info, nil
}

// RunIDPattern is the grammar of a run id, such as 20261124-221500-3fa2.
var RunIDPattern = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$`)

// ReadSamples reads dir/samples.jsonl. A truncated last line, which is what a
// crash in the middle of a write leaves, is ignored; any other bad line is an
// error naming its line number.
func ReadSamples(dir string) ([]Sample, error) {
	path := filepath.Join(dir, SamplesFile)
	f, err := safefs.OpenFile(dir, SamplesFile, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeSamples(f, path)
}

// DecodeSamples reads samples from r; name is used in error messages.
func DecodeSamples(r io.Reader, name string) ([]Sample, error) {
	return decodeLines(r, name, func(s Sample) int { return s.Schema })
}

// ReadTraces reads dir/series.jsonl; a run without one has no traces.
func ReadTraces(dir string) ([]Trace, error) {
	path := filepath.Join(dir, SeriesFile)
	f, err := safefs.OpenFile(dir, SeriesFile, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeLines(f, path, func(t Trace) int { return t.Schema })
}

// decodeLines reads JSON lines from r; name is used in error messages.
func decodeLines[T any](r io.Reader, name string, schema func(T) int) ([]T, error) {
	var out []T
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		complete := err == nil
		if err != nil && !errors.Is(err, io.EOF) {
			return out, err
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			var s T
			if jerr := json.Unmarshal(b, &s); jerr != nil {
				if !complete {
					return out, nil // the torn write of a crash
				}
				return out, fmt.Errorf("%s:%d: %w", name, line, jerr)
			}
			if v := schema(s); v > SchemaVersion {
				return out, fmt.Errorf("%s:%d: schema %d is newer than this vmbench understands (%d)", name, line, v, SchemaVersion)
			}
			out = append(out, s)
		}
		if !complete {
			return out, nil
		}
	}
}

// ProfilePath is where a sample's CPU profile is kept, relative to the run
// directory: profiles/<platform, as a file name>/<workload>[-<label>]-<trial>[-r<round>].pb.gz,
// the label's spaces and slashes made commas.
func ProfilePath(s Sample) string {
	name := s.Workload
	if s.Label != "" {
		name += "-" + strings.Map(func(r rune) rune {
			if r == ' ' || r == '/' {
				return ','
			}
			return r
		}, s.Label)
	}
	name += fmt.Sprintf("-%d", s.Trial)
	if s.Round > 0 {
		name += fmt.Sprintf("-r%d", s.Round)
	}
	return filepath.Join(ProfilesDir, FileName(s.Platform), name+".pb.gz")
}

// DirMode and FileMode are a run directory's and its files': results and
// errors hold full command lines of the user's apps, so other users of the
// host do not read them.
const (
	DirMode  os.FileMode = 0o750
	FileMode os.FileMode = 0o640
)

// maxRunFile bounds what is read of a run.json (it holds the scenario's
// text): a stored run is data from elsewhere, and a huge or endless file
// (a link to /dev/zero in a run fetched from another host) must not
// exhaust memory.
const maxRunFile = 64 << 20

// CountTrials counts the measured trials of a stored run and the failed
// ones (warmups and boots left out), reading samples.jsonl line by line
// without keeping it: vmbench runs over many runs. A run without samples
// counts 0.
func CountTrials(dir string) (measured, failed int) {
	f, err := safefs.OpenFile(dir, SamplesFile, os.O_RDONLY, 0)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var s struct {
			Warmup   bool   `json:"warmup"`
			Workload string `json:"workload"`
			Error    string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &s) != nil || s.Warmup || s.Workload == Boot {
			continue
		}
		measured++
		if s.Error != "" {
			failed++
		}
	}
	return measured, failed
}
