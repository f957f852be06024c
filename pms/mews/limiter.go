package mews

import (
	"context"
	"slices"
	"sync"
	"time"
)

// limiter keeps the link within Mews's request limit on its own side: at
// most n requests in any sliding window, and none before the time a 429's
// Retry-After named (docs/pms-mews.md, "Rate limit").
//
// A request counts from when its answer came (or it failed), not from
// when it left: Mews saw it at some moment in between, so a window
// counted from the answers is never shorter than Mews's own, whatever the
// network's delays. Requests on the way count as in the window.
type limiter struct {
	mu       sync.Mutex
	n        int
	window   time.Duration
	inflight int         // requests sent, not yet done
	stamps   []time.Time // done times within the window, oldest first
	blocked  time.Time   // no request before this (Retry-After)
	now      func() time.Time
}

func newLimiter(n int, window time.Duration, now func() time.Time) *limiter {
	if n < 1 {
		n = 1
	}
	return &limiter{n: n, window: window, now: now}
}

// wait blocks until a request may be sent and counts it as on the way, or
// returns ctx's error. Every nil return must be followed by done.
func (l *limiter) wait(ctx context.Context) error {
	for {
		d := l.reserve()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// reserve counts a request and returns 0, or returns how long to wait
// before asking again.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Before(l.blocked) {
		return l.blocked.Sub(now)
	}
	cut := now.Add(-l.window)
	i := 0
	for i < len(l.stamps) && !l.stamps[i].After(cut) {
		i++
	}
	l.stamps = l.stamps[i:]
	if len(l.stamps)+l.inflight >= l.n {
		if len(l.stamps) == 0 {
			return inflightPoll // all on the way: ask again shortly
		}
		return l.stamps[0].Sub(cut)
	}
	l.inflight++
	return 0
}

// inflightPoll is how long a request waits when the whole window is on the
// way.
const inflightPoll = 10 * time.Millisecond

// done counts a request that wait let through as answered (or failed) now.
func (l *limiter) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight > 0 {
		l.inflight--
	}
	now := l.now()
	i := len(l.stamps)
	for i > 0 && l.stamps[i-1].After(now) {
		i--
	}
	l.stamps = slices.Insert(l.stamps, i, now)
}

// block holds every request until d from now (a 429's Retry-After).
func (l *limiter) block(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.blocked) {
		l.blocked = until
	}
}

// blockedFor is how long requests are still held by a Retry-After.
func (l *limiter) blockedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked.Sub(l.now())
}
