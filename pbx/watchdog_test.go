package pbx

import (
	"testing"
	"time"
)

// TestWatchdog: a short silence fires once (not again while the silence
// lasts), data resumes with one log line, a new silence fires again, and
// steady data never fires.
func TestWatchdog(t *testing.T) {
	var logs syncBuffer
	events := make(chan bool, 10)
	w := NewWatchdog(100*time.Millisecond, testLog(t, &logs), func(s bool) { events <- s })
	defer w.Stop()

	expect := func(want bool, within time.Duration) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("OnSilence(%v), want OnSilence(%v)", got, want)
			}
		case <-time.After(within):
			t.Fatalf("no OnSilence(%v) within %v", want, within)
		}
	}
	quiet := func(d time.Duration) {
		t.Helper()
		select {
		case got := <-events:
			t.Fatalf("unexpected OnSilence(%v)", got)
		case <-time.After(d):
		}
	}

	start := time.Now()
	expect(true, 2*time.Second)
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("fired after %v, before the silence period", el)
	}
	if !w.Silent() {
		t.Fatal("Silent() false after firing")
	}
	quiet(350 * time.Millisecond) // the silence goes on: no second alarm

	w.Kick()
	expect(false, 2*time.Second)
	if w.Silent() {
		t.Fatal("Silent() true after data resumed")
	}
	w.Kick() // more data: nothing to report
	expect(true, 2*time.Second)

	w.Kick()
	expect(false, 2*time.Second)
	// Steady data, a kick every 20 ms for 400 ms: no alarm (unless this
	// machine was too busy to kick within the silence period).
	var maxGap time.Duration
	last := time.Now()
	for range 20 {
		w.Kick()
		maxGap = max(maxGap, time.Since(last))
		last = time.Now()
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case got := <-events:
		if maxGap < 90*time.Millisecond {
			t.Fatalf("OnSilence(%v) while data kept coming (longest gap %v)", got, maxGap)
		}
		t.Skipf("the machine paused %v between kicks", maxGap)
	default:
	}

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
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
