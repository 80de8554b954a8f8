package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/vmbench/vmbench/internal/result"
)

// progress shows a run's trials as a bar with the count and the time left
// on a terminal. Log lines (a platform is ready, a warning) are printed
// above the bar, which is drawn again under them.
type progress struct {
	w        io.Writer
	throttle time.Duration // the least time between two redraws
	mu       sync.Mutex
	bar      *progressbar.ProgressBar // nil until the trials begin
}

// newProgress returns a progress bar on f when f is a terminal, else nil:
// then the runner logs one line per trial.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progress{w: f, throttle: 100 * time.Millisecond}
}

// Begin starts the bar for total trials.
func (p *progress) Begin(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
	}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("trials"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(p.throttle),
		progressbar.OptionClearOnFinish(),
	)
	p.bar.RenderBlank()
}

// Done counts one trial and names it beside the bar.
func (p *progress) Done(s result.Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	what := s.Workload + " on " + s.Platform
	if s.Error != "" {
		what += " FAILED"
	}
	p.bar.Describe(what)
	p.bar.Add(1)
}

// Finish removes the bar.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// Write prints a log line above the bar.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
	}
	n, err := p.w.Write(b)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
	return n, err
}
