// Package testutil holds what the tests of several packages share: a logger
// into the test's log, a buffer for concurrent writers, a bounded wait for a
// condition, a pseudo-terminal pair. Only tests import it.
package testutil

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rs/zerolog"
)

// Logger returns an info-level logger that writes to the test's log (shown
// when the test fails) and, when also is not nil, to also.
func Logger(t testing.TB, also io.Writer) zerolog.Logger {
	var w io.Writer = zerolog.NewTestWriter(t)
	if also != nil {
		w = io.MultiWriter(w, also)
	}
	return zerolog.New(w).Level(zerolog.InfoLevel)
}

// Buffer is a bytes.Buffer safe for concurrent writers, which a test can
// wait on (Wait).
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // gets a token after each write, for Wait
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.wroteLocked() <- struct{}{}:
	default:
	}
	return n, err
}

// wroteLocked returns the write notification channel; s.mu is held.
func (s *Buffer) wroteLocked() chan struct{} {
	if s.written == nil {
		s.written = make(chan struct{}, 1)
	}
	return s.written
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Wait returns once cond holds for what has been written, checking again
// after each write; it fails the test, showing what was written, after 10 s.
func (s *Buffer) Wait(t testing.TB, what string, cond func(string) bool) {
	t.Helper()
	s.mu.Lock()
	written := s.wroteLocked()
	s.mu.Unlock()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !cond(s.String()) {
		select {
		case <-written:
		case <-deadline.C:
			t.Fatalf("waiting for %s:\n%s", what, s.String())
		}
	}
}

// Count returns how many times substr was written (non-overlapping).
func (s *Buffer) Count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), substr)
}

// Bytes returns a copy of what was written so far.
func (s *Buffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// WaitFor polls cond until it holds, failing the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// OpenPTY returns a pseudo-terminal pair, skipping the test where there are
// none: the master is a device's far end (a PBX, a PMS), the slave a stand-in
// for /dev/ttyUSB0. Both are closed when the test ends.
func OpenPTY(t testing.TB) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}
