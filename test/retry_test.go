package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/fias/sim"
)

// TestEngineBusyPMSBooksEveryPosting is issue 15's test of a back-off that
// forgives, over the real FIAS link and the simulator on loopback: a PMS
// that answers RY to the first try of every posting (a folio open at the
// front desk) costs each posting one RY wait, so 30 postings are booked
// within 30 × (RY wait + answer time) + 5 s. Before the fix the wait
// doubled from one posting to the next (50 ms, 100 ms, … up to RetryMax),
// and 30 postings took minutes.
func TestEngineBusyPMSBooksEveryPosting(t *testing.T) {
	const (
		n      = 30
		ryMin  = 50 * time.Millisecond
		answer = 20 * time.Millisecond // the simulated PMS's delay before each PA
	)
	r := startRig(t, sim.Range(101, 160), sim.Range(101, 149), func(e *gateway.Engine) {
		e.RetryMin, e.RetryMax = ryMin, time.Minute // ry_max_s's default
	})
	// Each posting takes two tries, each answered after the delay.
	bound := n*(ryMin+2*answer) + 5*time.Second
	var lines []string
	for i := range n {
		lines = append(lines, ipo(i+1, fmt.Sprintf("2026/11/25 10:%02d:00", i), 60, fmt.Sprint(101+i), "96175550134", false))
	}
	// The clock starts once a first posting is booked (the link up, the
	// guests known): it measures the postings, not the link's start.
	r.pms.SetFaults(sim.Faults{})
	r.send(ipo(100, "2026/11/25 09:59:00", 60, "149", "96175550134", false))
	r.waitState(gateway.StatePosted, 1)
	r.pms.SetFaults(sim.Faults{BusyFirst: true, PADelay: answer})
	began := time.Now()
	r.send(lines...)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for {
		c, err := r.journal.Counts(ctx)
		if err == nil && c.States[gateway.StatePosted] == n+1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d postings booked within %v; counts %v", len(r.pms.Ledger())-1, n, bound, c.States)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Logf("%d postings booked in %v (bound %v)", n, time.Since(began).Round(time.Millisecond), bound)
	ledger := r.pms.Ledger()
	if len(ledger) != n+1 {
		t.Fatalf("%d bookings, want %d", len(ledger), n+1)
	}
	for _, b := range ledger {
		if b.Duplicate {
			t.Errorf("booked twice: %+v", b)
		}
	}
	for _, room := range []string{"101", "115", "130"} {
		if answers, numbers := received(r.pms, room); len(answers) != 2 || answers[0] != "RY" || answers[1] != "OK" || numbers[0] != numbers[1] {
			t.Errorf("room %s: answers %v to postings %v, want RY then OK to one posting", room, answers, numbers)
		}
	}
	if v := r.pms.Violations(); len(v) > 0 {
		t.Errorf("FIAS violations: %+v", v)
	}
}
