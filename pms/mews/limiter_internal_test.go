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
