package gateway

import "time"

// Clock is the engine's time: when things happen, and the waits and
// tickers of its loops. The engine uses the real clock unless one is set;
// tests set a fake (gatewaytest.Clock) and move time by hand.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
	// NewTicker delivers the time every d until it is stopped.
	NewTicker(d time.Duration) Ticker
}

// Ticker is a Clock's periodic tick.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After is time.After.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// NewTicker is time.NewTicker.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }
