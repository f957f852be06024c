package pbx

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{c: f, ch: make(chan time.Time, 1), at: f.now.Add(d), active: true}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the clock on by d and fires the timers due; it returns how
// many fired.
func (f *fakeClock) Advance(d time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	n := 0
	for _, t := range f.timers {
		if t.active && !t.at.After(f.now) {
			t.active = false
			t.ch <- f.now
			n++
		}
	}
	return n
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.at, t.active = t.c.now.Add(d), true
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.active = false
}

// TestWatchdog: a short silence fires once (not again while the silence
// lasts), data resumes with one log line, a new silence fires again, and
// steady data never fires. The watchdog runs on a fake clock; each event
// its goroutine handles is waited for, so nothing is proved by waiting.
func TestWatchdog(t *testing.T) {
	var logs syncBuffer
	events := make(chan bool, 10)
	steps := make(chan struct{}, 10)
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := newWatchdog(100*time.Millisecond, testLog(t, &logs), func(s bool) { events <- s }, clk, func() { steps <- struct{}{} })
	defer w.Stop()

	handled := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-steps:
			case <-time.After(5 * time.Second):
				t.Fatal("the watchdog did not handle its event")
			}
		}
	}
	// advance moves the clock and waits until the watchdog has handled
	// every timer that fired.
	advance := func(d time.Duration) int {
		t.Helper()
		n := clk.Advance(d)
		handled(n)
		return n
	}
	// kick is data arriving; wait says the watchdog was silent, so that its
	// goroutine has the resumption to handle.
	kick := func(wasSilent bool) {
		t.Helper()
		w.Kick()
		if wasSilent {
			handled(1)
		}
	}
	expect := func(want bool) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("OnSilence(%v), want OnSilence(%v)", got, want)
			}
		default:
			t.Fatalf("no OnSilence(%v)", want)
		}
	}
	none := func(what string) {
		t.Helper()
		select {
		case got := <-events:
			t.Fatalf("OnSilence(%v) %s", got, what)
		default:
		}
	}

	advance(99 * time.Millisecond)
	none("before the silence period")
	if n := advance(time.Millisecond); n != 1 {
		t.Fatalf("%d timers fired at the end of the silence period, want 1", n)
	}
	expect(true)
	if !w.Silent() {
		t.Fatal("Silent() false after firing")
	}
	if n := advance(350 * time.Millisecond); n != 0 { // the silence goes on: no second alarm
		t.Fatalf("%d timers fired while silent", n)
	}
	none("again while the silence lasts")

	kick(true)
	expect(false)
	if w.Silent() {
		t.Fatal("Silent() true after data resumed")
	}
	kick(false) // more data: nothing to report
	none("for data while not silent")
	advance(100 * time.Millisecond)
	expect(true)

	kick(true)
	expect(false)
	// Steady data, a kick every 20 ms for 400 ms: no alarm.
	for range 20 {
		advance(20 * time.Millisecond)
		kick(false)
	}
	none("while data kept coming")

	if n := logs.Count("no PBX data for 100ms"); n != 2 {
		t.Errorf("%d silence warnings in the log, want 2", n)
	}
	if n := logs.Count("PBX data resumed"); n != 2 {
		t.Errorf("%d resumed lines in the log, want 2", n)
	}
	if n := logs.Count(`"level":"warn"`); n != 2 {
		t.Errorf("%d warnings in the log, want 2", n)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * time.Minute:       "60 minutes",
		time.Minute:            "1 minute",
		90 * time.Second:       "90 seconds",
		100 * time.Millisecond: "100ms",
	} {
		t.Run(want, func(t *testing.T) {
			if got := humanDuration(d); got != want {
				t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
			}
		})
	}
}
