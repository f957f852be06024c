package mews

import (
	"context"
	"sync"
	"time"
)

// limiter keeps the link within Mews's request limit on its own side: at
// most n requests in any sliding window, and none before the time a 429's
// Retry-After named (docs/pms-mews.md, "Rate limit").
type limiter struct {
	mu      sync.Mutex
	n       int
	window  time.Duration
	stamps  []time.Time // send times within the window, oldest first
	blocked time.Time   // no request before this (Retry-After)
	now     func() time.Time
}

func newLimiter(n int, window time.Duration, now func() time.Time) *limiter {
	if n < 1 {
		n = 1
	}
	return &limiter{n: n, window: window, now: now}
}

// wait blocks until a request may be sent and counts it as sent, or
// returns ctx's error.
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
	if len(l.stamps) >= l.n {
		return l.stamps[0].Sub(cut)
	}
	l.stamps = append(l.stamps, now)
	return 0
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
