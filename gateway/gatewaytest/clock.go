package gatewaytest

import (
	"context"
	"sort"
	"sync"
	"time"

	"callgate/gateway"
)

// Clock is a gateway.Clock whose time moves only when the test says so:
// Advance fires the waits and ticks that fall due, in time order. Waiting
// tells the test when the code under test has started to wait, so that no
// test needs to sleep.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waits   []*wait
	changed chan struct{} // closed and replaced whenever a wait is added
}

type wait struct {
	at     time.Time
	every  time.Duration // 0 for a one-shot wait
	c      chan time.Time
	ticker bool
	done   bool
}

var _ gateway.Clock = (*Clock)(nil)

// NewClock returns a clock standing at start (UTC 2026-12-01 12:00 when
// start is zero).
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	}
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After delivers the time once the clock has been advanced by d. A d of
// zero or less delivers at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &wait{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		w.c <- c.now
		return w.c
	}
	c.add(w)
	return w.c
}

// NewTicker ticks every d of the clock's time. Like time.Ticker, it drops
// ticks a slow reader misses.
func (c *Clock) NewTicker(d time.Duration) gateway.Ticker {
	d = max(d, time.Nanosecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &wait{at: c.now.Add(d), every: d, c: make(chan time.Time, 1), ticker: true}
	c.add(w)
	return &ticker{c: c, w: w}
}

func (c *Clock) add(w *wait) {
	c.waits = append(c.waits, w)
	close(c.changed)
	c.changed = make(chan struct{})
}

type ticker struct {
	c *Clock
	w *wait
}

func (t *ticker) C() <-chan time.Time { return t.w.c }
func (t *ticker) Stop() {
	t.c.mu.Lock()
	t.w.done = true
	t.c.mu.Unlock()
}

// Advance moves the clock on by d, firing every wait and tick due on the
// way, in time order.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	for {
		var due []*wait
		keep := c.waits[:0]
		for _, w := range c.waits {
			switch {
			case w.done:
			case !w.at.After(end):
				due = append(due, w)
				keep = append(keep, w)
			default:
				keep = append(keep, w)
			}
		}
		c.waits = keep
		if len(due) == 0 {
			break
		}
		sort.SliceStable(due, func(a, b int) bool { return due[a].at.Before(due[b].at) })
		w := due[0]
		if w.at.After(c.now) {
			c.now = w.at
		}
		select {
		case w.c <- c.now:
		default: // a ticker's reader is behind: the tick is dropped
		}
		if w.every > 0 {
			w.at = w.at.Add(w.every)
		} else {
			w.done = true
		}
	}
	c.now = end
	c.prune()
}

func (c *Clock) prune() {
	keep := c.waits[:0]
	for _, w := range c.waits {
		if !w.done {
			keep = append(keep, w)
		}
	}
	c.waits = keep
}

// Set moves the clock to t (forwards: as Advance; backwards: no wait fires).
func (c *Clock) Set(t time.Time) {
	if d := t.Sub(c.Now()); d > 0 {
		c.Advance(d)
		return
	}
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Waiters returns how many one-shot waits (After) have not yet fired.
// Tickers are not counted.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waits {
		if !w.done && !w.ticker {
			n++
		}
	}
	return n
}

// WaitFor blocks until at least n one-shot waits are pending (the code
// under test has started to wait), or ctx ends; it reports which.
func (c *Clock) WaitFor(ctx context.Context, n int) bool {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if c.Waiters() >= n {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}
