package mews

import (
	"context"
	"testing"
	"time"
)

// TestLimiter: at most n requests in any window, sliding; a Retry-After
// holds every request until it passes.
func TestLimiter(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	l := newLimiter(3, 30*time.Second, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if d := l.reserve(); d != 0 {
			t.Fatalf("request %d waits %s", i+1, d)
		}
		l.done()
		now = now.Add(time.Second)
	}
	// Three sent at 0, 1 and 2 s: the fourth waits until the first leaves
	// the window, at 30 s.
	if d := l.reserve(); d != 27*time.Second {
		t.Errorf("the fourth waits %s, want 27s", d)
	}
	now = now.Add(27 * time.Second)
	if d := l.reserve(); d != 0 {
		t.Errorf("at 30 s the fourth still waits %s", d)
	}
	l.done()
	if d := l.reserve(); d != time.Second {
		t.Errorf("the fifth waits %s, want 1s (until the second leaves)", d)
	}
	now = now.Add(10 * time.Second)
	l.block(5 * time.Second)
	if d := l.reserve(); d != 5*time.Second {
		t.Errorf("after a Retry-After of 5 s: waits %s", d)
	}
	if d := l.blockedFor(); d != 5*time.Second {
		t.Errorf("blockedFor %s", d)
	}
	l.block(time.Second) // a shorter Retry-After does not shorten the hold
	if d := l.reserve(); d != 5*time.Second {
		t.Errorf("after a shorter Retry-After: waits %s", d)
	}
	now = now.Add(5 * time.Second)
	if d := l.reserve(); d != 0 {
		t.Errorf("after the hold: waits %s", d)
	}
}

// TestLimiterCountsFromAnswers: a request counts from when its answer
// came, and requests on the way fill the window: a slow answer cannot let
// more than n reach Mews within its window.
func TestLimiterCountsFromAnswers(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	l := newLimiter(2, 10*time.Second, func() time.Time { return now })
	if l.reserve() != 0 || l.reserve() != 0 {
		t.Fatal("the first two wait")
	}
	if d := l.reserve(); d != inflightPoll {
		t.Errorf("with two on the way the third waits %s", d)
	}
	now = now.Add(4 * time.Second) // the first answer comes 4 s after it left
	l.done()
	now = now.Add(time.Second)
	l.done()
	// Window counted from the answers at 4 s and 5 s: the third may go at
	// 14 s, not at 10 s (when it left).
	if d := l.reserve(); d != 9*time.Second {
		t.Errorf("the third waits %s, want 9s", d)
	}
}

// TestLimiterWaitEndsWithCtx: a request held by the limiter gives up with
// its ctx.
func TestLimiterWaitEndsWithCtx(t *testing.T) {
	l := newLimiter(1, time.Hour, time.Now)
	if err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.wait(ctx); err != context.DeadlineExceeded {
		t.Errorf("%v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"3": 3 * time.Second, "0": 0, "": time.Second, "soon": time.Second, "-4": time.Second,
		"Sun, 06 Dec 2026 03:00:07 GMT": 7 * time.Second, "Sun, 06 Dec 2026 02:00:00 GMT": 0, "86400": 5 * time.Minute,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", h, got, want)
		}
	}
}
