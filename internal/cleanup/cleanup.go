// Package cleanup is the LIFO stack of undo functions that every resource
// vmbench acquires (a process, a container, a temp dir, a guest) pushes onto,
// so that teardown releases them in reverse order on success, failure,
// timeout and interrupt alike.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Stack holds undo functions. The zero value is ready to use.
type Stack struct {
	mu    sync.Mutex
	items []item
}

type item struct {
	name string
	fn   func(context.Context) error
}

// Push adds an undo function, named for error messages.
func (s *Stack) Push(name string, fn func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, item{name, fn})
}

// Run calls every undo function once, last pushed first, even when earlier
// ones fail, and returns all their errors. ctx should not be the cancelled
// context of the run: use context.WithoutCancel plus a timeout.
func (s *Stack) Run(ctx context.Context) error {
	s.mu.Lock()
	items := s.items
	s.items = nil
	s.mu.Unlock()
	var errs []error
	for i := len(items) - 1; i >= 0; i-- {
		if err := items[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", items[i].name, err))
		}
	}
	return errors.Join(errs...)
}
