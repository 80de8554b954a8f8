// Package collect samples what a trial costs while it runs: the host's CPU
// split, memory, disk and network counters, the platform's own processes
// (the agent, runc and its container, QEMU) and cgroup, and, inside a guest,
// the guest's own view. Samplers read /proc, /sys and the cgroup filesystem
// under a root that tests point at fixture trees.
package collect

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Kind tells how a field's readings read: a counter only grows (CPU
// seconds, bytes transferred) and is read as a rate; a gauge is a level
// (bytes held).
type Kind string

const (
	Counter Kind = "counter"
	Gauge   Kind = "gauge"
)

// Field is one quantity a sampler reads, in a base unit.
type Field struct {
	Name string `json:"name"`
	Unit string `json:"unit"`
	Kind Kind   `json:"kind"`
}

// Sampler reads its fields at one instant.
type Sampler interface {
	// Name is the source: host, guest, process, cgroup.
	Name() string
	Fields() []Field
	// Read returns one value per field, in Fields order. A sampler whose
	// subject does not exist yet or any more (a container between its
	// start and end) returns ErrAbsent.
	Read(ctx context.Context) ([]float64, error)
}

// ErrAbsent is returned by Read while the sampler's subject does not exist.
var ErrAbsent = errors.New("not present")

// Series is what one sampler read during one trial.
type Series struct {
	Sampler string   `json:"sampler"`
	Fields  []Field  `json:"fields"`
	Points  []Point  `json:"points"`
	Errors  []string `json:"errors,omitempty"` // distinct read errors, other than ErrAbsent
}

// Point is one reading: T seconds after the collection started, and one
// value per field.
type Point struct {
	T      float64   `json:"t"`
	Values []float64 `json:"v"`
}

// Field returns the index of the named field, or -1.
func (s Series) Field(name string) int {
	return slices.IndexFunc(s.Fields, func(f Field) bool { return f.Name == name })
}

// Max returns the largest reading of the named field, and false when the
// series has no reading of it.
func (s Series) Max(name string) (float64, bool) {
	i := s.Field(name)
	if i < 0 || len(s.Points) == 0 {
		return 0, false
	}
	m := s.Points[0].Values[i]
	for _, p := range s.Points[1:] {
		m = max(m, p.Values[i])
	}
	return m, true
}

// Collection is a set of samplers reading at an interval in the background.
type Collection struct {
	cancel  context.CancelFunc
	done    chan struct{}
	series  []Series
	start   time.Time
	cpu0    float64
	stopped sync.Once
	out     Result
}

// Result is what a collection produced.
type Result struct {
	Series []Series `json:"series"`
	// Interval is the sampling interval, in seconds.
	Interval float64 `json:"interval_s"`
	// Wall is how long the collection ran, in seconds.
	Wall float64 `json:"wall_s"`
	// SamplerCPU is the CPU time, user plus system, of the samplers' reads,
	// measured on the thread they ran on, in seconds: what sampling cost
	// (the garbage they leave for the collector aside).
	SamplerCPU float64 `json:"sampler_cpu_s"`
	// SelfCPU is the CPU time that this whole process used while the
	// collection ran, in seconds: the samplers, and everything else the
	// runner did meanwhile (starting the trial, reading its result).
	SelfCPU float64 `json:"self_cpu_s"`
	// Readings are when each reading of every sampler began, in seconds
	// from the start: a point belongs to the last reading begun before
	// its time (PeakSum).
	Readings []float64 `json:"-"`
}

// PeakSum is the largest sum, over the readings, of field in the series
// at indices: what those subjects held together at their fullest, which a
// sum of each one's own peak overstates when they share pages (a page's
// PSS is split among the processes mapping it at the moment) or peak at
// different times. A series without a point in a reading adds nothing to
// it (its subject was not there).
func (r Result) PeakSum(field string, indices []int) float64 {
	sums := make([]float64, len(r.Readings))
	for _, i := range indices {
		s := r.Series[i]
		f := s.Field(field)
		if f < 0 {
			continue
		}
		for _, p := range s.Points {
			if j := sort.SearchFloat64s(r.Readings, p.T) - 1; j >= 0 && j < len(sums) {
				sums[j] += p.Values[f]
			}
		}
	}
	peak := 0.0
	for _, v := range sums {
		peak = max(peak, v)
	}
	return peak
}

// Start reads every sampler at once and then at each interval, until Stop.
func Start(ctx context.Context, interval time.Duration, samplers ...Sampler) *Collection {
	ctx, cancel := context.WithCancel(ctx)
	c := &Collection{cancel: cancel, done: make(chan struct{}), start: time.Now(), cpu0: SelfCPU()}
	for _, s := range samplers {
		c.series = append(c.series, Series{Sampler: s.Name(), Fields: s.Fields()})
	}
	c.out.Interval = interval.Seconds()
	go func() {
		defer close(c.done)
		// The samplers run on a thread of their own, whose CPU time is
		// theirs alone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			c.read(ctx, samplers)
			select {
			case <-ctx.Done():
				// A last reading, so that counters cover the whole trial.
				c.read(context.WithoutCancel(ctx), samplers)
				return
			case <-tick.C:
			}
		}
	}()
	return c
}

func (c *Collection) read(ctx context.Context, samplers []Sampler) {
	t0 := threadCPU()
	defer func() { c.out.SamplerCPU += threadCPU() - t0 }()
	c.out.Readings = append(c.out.Readings, time.Since(c.start).Seconds())
	for i, s := range samplers {
		v, err := s.Read(ctx)
		t := time.Since(c.start).Seconds()
		sr := &c.series[i]
		switch {
		case errors.Is(err, ErrAbsent):
		case err != nil:
			if msg := err.Error(); !slices.Contains(sr.Errors, msg) && len(sr.Errors) < 5 {
				sr.Errors = append(sr.Errors, msg)
			}
		default:
			sr.Points = append(sr.Points, Point{T: t, Values: v})
		}
	}
}

// Stop takes a last reading, stops the collection and returns what it
// read. It may be called more than once.
func (c *Collection) Stop() Result {
	c.stopped.Do(func() {
		c.cancel()
		<-c.done
		c.out.Wall = time.Since(c.start).Seconds()
		c.out.SelfCPU = SelfCPU() - c.cpu0
		c.out.Series = c.series
	})
	return c.out
}

// threadCPU returns the CPU time, user plus system, of the calling thread.
func threadCPU() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// SelfCPU returns the CPU time, user plus system, this process has used,
// in seconds (its reaped children not included).
func SelfCPU() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
