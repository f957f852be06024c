package gateway_test

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// expectTry checks that the poster, having sent n postings, waits exactly d
// before the next: nothing more is sent a millisecond before, the next
// posting is sent at d. It returns the wait the engine's status showed.
func (r *rig) expectTry(n int, d time.Duration) gateway.PostWait {
	r.t.Helper()
	if !r.pms.Await(r.ctx, func() bool { return len(r.pms.Posted()) == n }) || !r.clock.WaitFor(r.ctx, 1) {
		r.t.Fatalf("posting %d was not sent, or the poster did not wait after it", n)
	}
	st := r.e.Status()
	if st.Wait == nil {
		r.t.Fatalf("after posting %d: the status shows no wait", n)
	}
	w := *st.Wait
	if w.Wait != d {
		r.t.Errorf("after posting %d: the status shows a wait of %v, want %v (%+v)", n, w.Wait, d, w)
	}
	r.clock.Advance(d - time.Millisecond)
	if got := len(r.pms.Posted()); got != n {
		r.t.Fatalf("sent again %v into a wait of %v (%d postings)", d-time.Millisecond, d, got)
	}
	r.clock.Advance(time.Millisecond)
	if !r.pms.Await(r.ctx, func() bool { return len(r.pms.Posted()) > n }) { // a drain may chain the next one too
		r.t.Fatalf("not sent again after a wait of %v (%d postings)", d, len(r.pms.Posted()))
	}
	return w
}

// TestEngineBusyWaitResetsAfterOK: a PMS that answers RY to the first try
// of each posting costs every posting RetryMin, not a wait that doubles
// from one posting to the next (issue 15: 5, 10, 20, 40 s …).
func TestEngineBusyWaitResetsAfterOK(t *testing.T) {
	r := newRig(t, false).run()
	r.pms.Answer(gatewaytest.Reply{Answer: "RY"}, gatewaytest.Reply{Answer: "OK"},
		gatewaytest.Reply{Answer: "RY"}, gatewaytest.Reply{Answer: "OK"},
		gatewaytest.Reply{Answer: "RY"}, gatewaytest.Reply{Answer: "OK"})
	a := r.send("out 101 4416 60")
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no wait after RY")
	}
	b := r.send("out 103 4417 60")
	c := r.send("out 101 4418 60")
	r.await(b, gateway.StateQueued)
	r.await(c, gateway.StateQueued)
	w := r.expectTry(1, 5*time.Second) // a: RY, then OK, and b goes on: RY
	if w.Cause != gateway.CauseBusy || w.Answer != "RY" || w.Entry != a {
		t.Errorf("the first wait: %+v", w)
	}
	w = r.expectTry(3, 5*time.Second) // b: OK, and c goes on: RY
	if w.Entry != b {
		t.Errorf("the second wait is for %d, want %d: %+v", w.Entry, b, w)
	}
	if got := w.Describe(w.Until.Add(-4*time.Second), time.UTC); !strings.HasPrefix(got, "retrying P#") || !strings.Contains(got, " in 4 s: the PMS answered RY (busy") {
		t.Errorf("the wait in words: %q", got)
	}
	r.expectTry(5, 5*time.Second) // c: OK
	r.await(c, gateway.StatePosted)
	for _, id := range []gateway.EntryID{a, b} {
		r.await(id, gateway.StatePosted)
	}
	if st := r.e.Status(); st.Wait != nil {
		t.Errorf("a wait shown after every posting was booked: %+v", *st.Wait)
	}
}

// TestEngineBusyWaitDoublesForTheSamePosting: while the PMS answers RY to
// the same posting, the wait doubles from RetryMin up to RetryMax; the next
// posting starts again from RetryMin.
func TestEngineBusyWaitDoublesForTheSamePosting(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) { e.RetryMin, e.RetryMax = 5*time.Second, 12*time.Second }).run()
	for range 4 {
		r.pms.Answer(gatewaytest.Reply{Answer: "RY", Text: "Folio open"})
	}
	r.pms.Answer(gatewaytest.Reply{Answer: "OK"}, gatewaytest.Reply{Answer: "RY"}, gatewaytest.Reply{Answer: "OK"})
	a := r.send("out 101 4416 60")
	for i, d := range []time.Duration{5 * time.Second, 10 * time.Second, 12 * time.Second, 12 * time.Second} {
		w := r.expectTry(i+1, d)
		if w.Entry != a || w.Text != "Folio open" {
			t.Errorf("wait %d: %+v", i+1, w)
		}
	}
	r.await(a, gateway.StatePosted)
	b := r.send("out 103 4417 60")
	r.expectTry(6, 5*time.Second)
	r.await(b, gateway.StatePosted)
}

// TestEngineNightAuditWait: after NA the poster waits NightAuditPoll, or
// less when the PMS signals the audit's end (NE); it does not double.
func TestEngineNightAuditWait(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) { e.NightAuditPoll = 90 * time.Second }).run()
	r.pms.Answer(gatewaytest.Reply{Answer: "NA"}, gatewaytest.Reply{Answer: "NA"}, gatewaytest.Reply{Answer: "NA"})
	a := r.send("out 101 4416 60")
	w := r.expectTry(1, 90*time.Second)
	if w.Cause != gateway.CauseNightAudit || w.Answer != "NA" {
		t.Errorf("the night audit's wait: %+v", w)
	}
	if got := w.Describe(w.Until, time.UTC); !strings.Contains(got, "night audit to end") || !strings.Contains(got, w.Until.Format("15:04:05")) {
		t.Errorf("the wait in words: %q", got)
	}
	r.expectTry(2, 90*time.Second) // NA again: the same wait, not doubled
	// The third NA: the PMS's NE ends the wait at once, with no time passing.
	if !r.pms.Await(r.ctx, func() bool { return len(r.pms.Posted()) == 3 }) || !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no third try, or no wait after it")
	}
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.NightAuditStart})
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.NightAuditEnd})
	r.await(a, gateway.StatePosted)
	if n := len(r.pms.Posted()); n != 4 {
		t.Errorf("%d postings sent, want 4", n)
	}
}
