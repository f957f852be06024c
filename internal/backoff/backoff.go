// Package backoff is the capped exponential back-off the transports wait by
// between attempts to reach a PBX or a PMS.
package backoff

import "time"

// Backoff doubles its wait from Min up to Max, and starts again from Min after
// Reset. The zero value waits 0; use New. It is not safe for concurrent use.
type Backoff struct {
	min, max, cur time.Duration
}

// New returns a back-off from min to max; a max below min is taken as min.
// Callers apply their own defaults first: a zero min waits 0.
func New(min, max time.Duration) Backoff {
	if max < min {
		max = min
	}
	return Backoff{min: min, max: max}
}

// Next returns the wait before the next attempt: Min the first time, then
// twice the last wait, at most Max.
func (b *Backoff) Next() time.Duration {
	switch {
	case b.cur < b.min:
		b.cur = b.min
	case b.cur < b.max:
		b.cur *= 2
	}
	if b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

// Reset makes the next wait Min again, after an attempt that succeeded.
func (b *Backoff) Reset() { b.cur = 0 }
