package pbx

import (
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Watchdog notices a PBX that has gone quiet. A pulled RS-232 cable, a PBX
// whose SMDR output was switched off or a TCP session a firewall dropped
// raise no error: the data just stops. When no Kick has come for the silence
// period, the watchdog logs one warning and calls onSilence(true); at the
// next Kick it logs that data resumed and calls onSilence(false). Then it
// watches again.
type Watchdog struct {
	after     time.Duration
	log       zerolog.Logger
	onSilence func(bool)
	clk       clock
	step      func() // after each event handled; tests wait on it

	mu      sync.Mutex
	last    time.Time // of the last Kick (monotonic clock)
	silent  bool
	resumed chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewWatchdog starts a watchdog that raises the alarm after the given silence.
// onSilence may be nil. Stop it when the source closes.
func NewWatchdog(silence time.Duration, log zerolog.Logger, onSilence func(silent bool)) *Watchdog {
	return newWatchdog(silence, log, onSilence, realClock{}, func() {})
}

// newWatchdog is NewWatchdog on the clock clk, calling step after each
// event its goroutine has handled (a timer, data resuming).
func newWatchdog(silence time.Duration, log zerolog.Logger, onSilence func(silent bool), clk clock, step func()) *Watchdog {
	w := &Watchdog{
		after:     silence,
		log:       log,
		onSilence: onSilence,
		clk:       clk,
		step:      step,
		last:      clk.Now(),
		resumed:   make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go w.run(clk.NewTimer(silence))
	return w
}

// Kick records that data arrived.
func (w *Watchdog) Kick() {
	w.mu.Lock()
	w.last = w.clk.Now()
	wasSilent := w.silent
	w.silent = false
	w.mu.Unlock()
	if wasSilent {
		signal(w.resumed)
	}
}

// Silent reports whether the watchdog is in the silent state.
func (w *Watchdog) Silent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.silent
}

// Stop ends the watchdog and waits for its goroutine (and any callback in
// progress) to return.
func (w *Watchdog) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

func (w *Watchdog) run(t timer) {
	defer close(w.done)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.resumed:
			w.log.Info().Msg("PBX data resumed")
			if w.onSilence != nil {
				w.onSilence(false)
			}
			t.Reset(w.after)
		case <-t.C():
			w.fired(t)
		}
		w.step()
	}
}

// fired handles the timer: silent when no data came for the whole period,
// else the timer is set for the rest of it.
func (w *Watchdog) fired(t timer) {
	w.mu.Lock()
	if w.silent { // cannot happen: the timer is off while silent
		w.mu.Unlock()
		return
	}
	idle := w.clk.Now().Sub(w.last)
	fire := idle >= w.after
	w.silent = fire
	w.mu.Unlock()
	if !fire {
		// Data came since the timer was set: wait out the rest.
		t.Reset(w.after - idle)
		return
	}
	// Silent now: the timer stays off until data resumes.
	w.log.Warn().Dur("silence", w.after).Msg("no PBX data for " + humanDuration(w.after))
	if w.onSilence != nil {
		w.onSilence(true)
	}
}

// clock is the time the watchdog reads and waits on; tests give a fake one.
type clock interface {
	Now() time.Time
	NewTimer(d time.Duration) timer
}

// timer is the part of a *time.Timer the watchdog uses.
type timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }

// humanDuration says d the way the night auditor reads it: "60 minutes".
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%d seconds", d/time.Second)
	default:
		return d.String()
	}
}
