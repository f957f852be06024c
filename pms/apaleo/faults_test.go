package apaleo_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/apaleo"
	"callgate/pms/apaleo/sim"
)

// driver plays the engine's rule for an idempotent link (until the engine
// part lands): a posting is sent until a definite answer, again with the
// same Reference after a lost answer or a transient one. It counts what it
// saw.
type driver struct {
	l                         *apaleo.Link
	sent, inDoubt, transients int
}

func (d *driver) post(t *testing.T, ctx context.Context, p gateway.PostRequest) gateway.PostResult {
	t.Helper()
	for try := 0; try < 60; try++ {
		if err := d.l.WaitReady(ctx); err != nil {
			t.Fatalf("posting %d: the link never got ready: %v (%+v)", p.Number, err, d.l.Status())
		}
		res, err := d.l.Post(ctx, p)
		if res.Sent {
			d.sent++
		}
		switch res.Outcome {
		case gateway.PostPosted:
			return res
		case gateway.PostInDoubt:
			d.inDoubt++
		case gateway.PostTransient:
			d.transients++
		default:
			t.Fatalf("posting %d: %+v %v", p.Number, res, err)
		}
	}
	t.Fatalf("posting %d: no definite answer in 60 tries", p.Number)
	return gateway.PostResult{}
}

// TestFaults200: 200 postings while every fifth charge answer is lost
// (half after the charge was booked, half before), with a storm of 429s
// and every token expiring midway. Sent again with the same key until a
// definite answer, every posting is on its folio exactly once, each key
// once, and the simulator received exactly the requests the link says it
// sent: net/http replayed none by itself.
func TestFaults200(t *testing.T) {
	rooms := []string{"101", "102", "103", "104", "105", "106", "107", "108"}
	s := startSim(t, sim.Options{Rooms: rooms, Occupied: rooms})
	o := fastOptions(s)
	o.AnswerTimeout = 2 * time.Second
	l := openLink(t, o)
	awaitResync(t, l)
	s.SetFaults(sim.Faults{LoseEvery: 5})
	ctx := testCtx(t, 90*time.Second)
	d := &driver{l: l}
	for i := uint32(1); i <= 200; i++ {
		switch i {
		case 60:
			s.SetFaults(sim.Faults{LoseEvery: 5, TooMany: 4})
		case 120:
			s.ExpireTokens()
		}
		p := posting(i, rooms[int(i)%len(rooms)])
		p.AmountMinor = int64(100 + i)
		d.post(t, ctx, p)
	}
	led := s.Ledger()
	if len(led) != 200 {
		t.Errorf("%d charges in the ledger, want 200", len(led))
	}
	keys := map[string]int{}
	for _, c := range led {
		keys[c.Key]++
		var n uint32
		if _, err := fmt.Sscanf(c.Key, "MUC-1-%d", &n); err != nil || c.AmountMinor != int64(100+n) || c.Receipt != c.Key || c.Room != rooms[int(n)%len(rooms)] {
			t.Errorf("charge %+v does not match posting %d", c, n)
		}
	}
	for i := uint32(1); i <= 200; i++ {
		if k := "MUC-1-" + itoa(i); keys[k] != 1 {
			t.Errorf("key %s booked %d times", k, keys[k])
		}
	}
	if got := s.ChargeRequests(); got != d.sent {
		t.Errorf("the simulator got %d charge requests, the link sent %d: something replayed a request", got, d.sent)
	}
	if d.inDoubt < 40 {
		t.Errorf("only %d answers in doubt: the lost answers did not happen", d.inDoubt)
	}
	if s.Limited() < 4 || d.transients == 0 {
		t.Errorf("%d answers 429, %d postings transient: the storm did not happen", s.Limited(), d.transients)
	}
	if s.TokensIssued() < 2 {
		t.Errorf("%d tokens issued: the expiry did not make the link renew", s.TokensIssued())
	}
	t.Logf("%d charge requests for 200 postings: %d in doubt, %d transient", d.sent, d.inDoubt, d.transients)
}

// TestLostAfterBooking: an answer lost after the charge was booked is in
// doubt; sent again with the same key, apaleo answers the first result
// and books nothing new.
func TestLostAfterBooking(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	l := openLink(t, fastOptions(s))
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	s.SetFaults(sim.Faults{LoseEvery: 1}) // the first one is lost after booking
	res, err := l.Post(ctx, posting(1, "101"))
	if res.Outcome != gateway.PostInDoubt || !res.Sent || gateway.KindOf(err) != gateway.KindInternal {
		t.Fatalf("lost answer: %+v %v", res, err)
	}
	s.SetFaults(sim.Faults{})
	res, err = l.Post(ctx, posting(1, "101"))
	if res.Outcome != gateway.PostPosted || err != nil {
		t.Fatalf("sent again: %+v %v", res, err)
	}
	led := s.Ledger()
	if len(led) != 1 || res.Text != "charge "+led[0].ID+" on folio "+led[0].FolioID {
		t.Errorf("ledger %+v, answer %q", led, res.Text)
	}
}

// TestLostBeforeBooking: an answer lost before anything was booked is in
// doubt too (the link cannot tell); sent again, it is booked once.
func TestLostBeforeBooking(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	l := openLink(t, fastOptions(s))
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	s.SetFaults(sim.Faults{LoseEvery: 1})
	_, _ = l.Post(ctx, posting(1, "101")) // lost after booking (1st)
	res, err := l.Post(ctx, posting(2, "101"))
	if res.Outcome != gateway.PostInDoubt || len(s.Ledger()) != 1 {
		t.Fatalf("lost before booking: %+v %v, ledger %+v", res, err, s.Ledger())
	}
	s.SetFaults(sim.Faults{})
	if res, err := l.Post(ctx, posting(2, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("sent again: %+v %v", res, err)
	}
	if n := len(s.Ledger()); n != 2 {
		t.Errorf("%d charges, want 2", n)
	}
}

// bookedThenTurnedOver posts posting 1 to room 101's guest, booked with its
// answer lost; then that guest leaves and another checks into 101.
func bookedThenTurnedOver(t *testing.T) (*sim.Sim, *apaleo.Link, context.Context, gateway.PostRequest) {
	t.Helper()
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	l := openLink(t, fastOptions(s))
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	s.SetFaults(sim.Faults{LoseEvery: 1}) // lost after booking
	p := posting(1, "101")
	if res, err := l.Post(ctx, p); res.Outcome != gateway.PostInDoubt {
		t.Fatalf("lost answer: %+v %v", res, err)
	}
	s.SetFaults(sim.Faults{})
	if err := s.CheckOut("SIM0001-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIn("101", "NEXT-1", "Next"); err != nil {
		t.Fatal(err)
	}
	return s, l, ctx, p
}

// TestResendGoesToTheFirstFolio: a charge booked whose answer was lost,
// then the guest leaves and another checks into the room before the
// resend. The resend goes to the first try's folio with the same key, and
// apaleo answers the first result: posted, booked once, on the guest who
// made the call. (Resolved again, it would go to the new guest's folio:
// the same key with another request, refused 422 though booked.)
func TestResendGoesToTheFirstFolio(t *testing.T) {
	s, l, ctx, p := bookedThenTurnedOver(t)
	p.FirstSent = time.Now()
	res, err := l.Post(ctx, p)
	if res.Outcome != gateway.PostPosted || err != nil {
		t.Fatalf("resent: %+v %v", res, err)
	}
	led := s.Ledger()
	if len(led) != 1 || led[0].FolioID != "SIM0001-1-1" {
		t.Errorf("ledger %+v: want one charge on the first guest's folio", led)
	}
}

// TestResendRefusedIsInDoubt: after a restart the link no longer knows
// the first try's folio; a resend that apaleo refuses (422: the key met
// another request) is in doubt, not refused, because the first try may be
// booked. A first try refused 422 stays refused.
func TestResendRefusedIsInDoubt(t *testing.T) {
	s, _, ctx, p := bookedThenTurnedOver(t)
	l2 := openLink(t, fastOptions(s)) // the gateway restarted
	awaitResync(t, l2)
	p.FirstSent = time.Now().Add(-time.Minute)
	res, err := l2.Post(ctx, p)
	if res.Outcome != gateway.PostInDoubt || res.Answer != "422" || !errors.Is(err, gateway.ErrInDoubt) || !strings.Contains(err.Error(), p.Reference) {
		t.Fatalf("resend refused: %+v %v", res, err)
	}
	if n := len(s.Ledger()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

// TestKeyReusedWithAnotherBody: a key reused with a different body is
// refused (422), and nothing is booked.
func TestKeyReusedWithAnotherBody(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	l := openLink(t, fastOptions(s))
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	if res, err := l.Post(ctx, posting(1, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", res, err)
	}
	p := posting(1, "101")
	p.AmountMinor = 999
	res, err := l.Post(ctx, p)
	if res.Outcome != gateway.PostRefused || res.Answer != "422" || !gateway.IsKind(err, gateway.KindRejected) {
		t.Errorf("reused key: %+v %v", res, err)
	}
	if n := len(s.Ledger()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

// TestServerError: a 5xx is in doubt (apaleo may have booked before
// failing); the posting's resend books it once.
func TestServerError(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	l := openLink(t, fastOptions(s))
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	s.SetFaults(sim.Faults{Status: 500, Messages: []string{"Internal error"}})
	res, err := l.Post(ctx, posting(1, "101"))
	if res.Outcome != gateway.PostInDoubt || res.Answer != "500" || res.Text != "Internal error" {
		t.Fatalf("500: %+v %v", res, err)
	}
	if res, err := l.Post(ctx, posting(1, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("sent again: %+v %v", res, err)
	}
}

// TestSlowAnswer: an answer slower than the answer timeout is in doubt,
// yet booked; the resend gets the first result.
func TestSlowAnswer(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.AnswerTimeout = 200 * time.Millisecond
	l := openLink(t, o)
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	s.SetFaults(sim.Faults{Slow: 2 * time.Second})
	if res, err := l.Post(ctx, posting(1, "101")); res.Outcome != gateway.PostInDoubt {
		t.Fatalf("slow: %+v %v", res, err)
	}
	s.SetFaults(sim.Faults{})
	if err := s.WaitFor(ctx, func() bool { return len(s.Ledger()) == 1 }); err != nil {
		t.Fatal(err)
	}
	// The first try still runs at apaleo until its Slow ends, or is done:
	// 409 (in doubt) or the first result.
	for try := 0; ; try++ {
		res, err := l.Post(ctx, posting(1, "101"))
		if res.Outcome == gateway.PostPosted {
			break
		}
		if res.Outcome != gateway.PostInDoubt || res.Answer != "409" || try > 50 {
			t.Fatalf("sent again: %+v %v", res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(s.Ledger()); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

// refuseCharges is a transport that cannot connect for charges (as when
// the API went away between the reads and the charge); reads pass.
type refuseCharges struct{ http.RoundTripper }

func (r refuseCharges) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/charges") {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return r.RoundTripper.RoundTrip(req)
}

// TestChargeWithoutConnection: a charge that never had a connection is
// transient and not sent (nothing can have been booked); the link goes
// down, reads the house at once, and is alive again.
func TestChargeWithoutConnection(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.PollInterval = time.Hour
	o.Transport = refuseCharges{http.DefaultTransport.(*http.Transport).Clone()}
	l := openLink(t, o)
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	res, err := l.Post(ctx, posting(1, "101"))
	if res.Outcome != gateway.PostTransient || res.Sent || !gateway.IsKind(err, gateway.KindTransient) {
		t.Fatalf("%+v %v", res, err)
	}
	if st := l.Status(); !strings.Contains(st.Err, "refused") {
		t.Errorf("status %+v", st)
	}
	if err := l.WaitReady(ctx); err != nil {
		t.Fatalf("not alive again: %v", err)
	}
	if n := s.ChargeRequests(); n != 0 {
		t.Errorf("%d charge requests", n)
	}
}
