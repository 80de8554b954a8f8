package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/vmbench/vmbench/internal/result"
)

// progress shows a run's trials on a terminal as one line, redrawn: the
// count of the whole run (an adaptive look's added rounds extend it, the
// count goes on), the time so far and the time left at the pace so far,
// and the last trial. Log lines (a platform starting or ready, a warning)
// are printed above it, and the line is drawn again under them.
type progress struct {
	w        io.Writer
	throttle time.Duration // the least time between two redraws
	now      func() time.Time

	mu          sync.Mutex
	total, done int
	began, drew time.Time
	last, shown string // the last trial; the line on the terminal now
}

// newProgress returns a progress line on f when f is a terminal, else
// nil: then the runner logs one line per trial.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progress{w: f, throttle: 100 * time.Millisecond, now: time.Now}
}

// Begin sets the trials the run plans so far: total.
func (p *progress) Begin(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.began.IsZero() {
		p.began = p.now()
	}
	p.total = total
	p.draw(true)
}

// Done counts one trial and names it on the line.
func (p *progress) Done(s result.Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.last = s.Workload + " on " + s.Platform
	if s.Error != "" {
		p.last += " FAILED"
	}
	p.draw(false)
}

// line is the progress line: "trials 12/40 (30%), 1m2s so far, about 2m25s left: cpu on vm".
func (p *progress) line() string {
	s := fmt.Sprintf("trials %d/%d", p.done, p.total)
	if p.total > 0 {
		s += fmt.Sprintf(" (%d%%)", 100*p.done/p.total)
	}
	elapsed := p.now().Sub(p.began)
	s += ", " + elapsed.Round(time.Second).String() + " so far"
	if p.done > 0 && p.done < p.total {
		left := elapsed / time.Duration(p.done) * time.Duration(p.total-p.done)
		s += ", about " + left.Round(time.Second).String() + " left"
	}
	if p.last != "" {
		s += ": " + p.last
	}
	return s
}

// draw redraws the line, at most once per throttle unless forced.
func (p *progress) draw(force bool) {
	if p.began.IsZero() || !force && p.now().Sub(p.drew) < p.throttle {
		return
	}
	p.clear()
	p.shown = p.line()
	fmt.Fprint(p.w, p.shown)
	p.drew = p.now()
}

// clear erases the line from the terminal.
func (p *progress) clear() {
	if p.shown != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = ""
	}
}

// Finish removes the line.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// Write prints a log line above the progress line.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	n, err := p.w.Write(b)
	p.draw(true)
	return n, err
}
