// Package changes wakes whoever waits for a condition on shared state when
// that state changes: the PMS simulators' WaitFor, which tests use to wait
// for a posting, a booking or a guest event without polling.
package changes

import (
	"context"
	"sync"
)

// Signal is a broadcast of "something changed". The zero value is ready.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Notify wakes every Wait to check its condition again. Call it after
// each change, with or without the state's own lock held.
func (s *Signal) Notify() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
	}
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

func (s *Signal) current() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Wait returns nil once cond holds, or ctx's error when ctx ends first.
// cond is called without any lock of the Signal's (it may take the state's
// own lock), at once and after every Notify.
func (s *Signal) Wait(ctx context.Context, cond func() bool) error {
	for {
		ch := s.current()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
