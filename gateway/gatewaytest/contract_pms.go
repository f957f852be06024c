package gatewaytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"callgate/gateway"
)

// PMSUnderTest is a PMS link connected to a PMS the contract suite plays:
// the link, and the means to make its PMS act.
type PMSUnderTest struct {
	Link gateway.PMSLink
	// Answer makes the PMS answer the next posting as r says (its Text may
	// be ignored).
	Answer func(r Reply)
	// AwaitPostings waits until the PMS has received n postings, or ctx
	// ends (then false).
	AwaitPostings func(ctx context.Context, n int) bool
	// CheckIn and CheckOut make the PMS report a reservation's arrival in
	// a room, and its departure.
	CheckIn  func(room, reservation string)
	CheckOut func(room, reservation string)
	// NightAudit starts or ends the PMS's night audit; nil for a PMS
	// without one on its link (the case is skipped).
	NightAudit func(on bool)
	// HoldResync makes the PMS leave resync requests unanswered.
	HoldResync func()
	// Codes, for a link whose answer codes are not FIAS's (a cloud PMS
	// answers with HTTP statuses), maps each FIAS answer the suite asks
	// Answer for (OK, NG, RY, NA) to the code the link reports; a case
	// whose answer is missing from the map is skipped. nil: FIAS codes.
	Codes map[string]string
}

// code returns the answer code the link reports for the FIAS answer a, and
// whether the PMS can give it.
func (p PMSUnderTest) code(a string) (string, bool) {
	if p.Codes == nil {
		return a, true
	}
	c, ok := p.Codes[a]
	return c, ok
}

// OpenPMS opens a link connected to a fresh PMS, ready (alive) for
// postings, with room 101 occupied (102 vacant) and an answer timeout short
// enough for a test; the test's cleanup closes both.
type OpenPMS func(t *testing.T) PMSUnderTest

// PMSLinkContract checks that open's links keep the contract of
// gateway.PMSLink: the outcome, the Sent flag and the error kind of every
// kind of answer (OK, refused, RY and NA, no answer, the caller giving up,
// an invalid request, a link not ready), guest and night-audit events,
// resync requests and Close. It runs against the fake (NewPMSLink) and
// against pms/fias with its simulator over TCP.
func PMSLinkContract(t *testing.T, open OpenPMS) {
	t.Run("posted", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		p.Answer(Reply{Answer: "OK"})
		res, err := p.Link.Post(ctx, postRequest(1, "101"))
		if ok, _ := p.code("OK"); err != nil || res.Outcome != gateway.PostPosted || !res.Sent || res.Answer != ok || res.At.IsZero() {
			t.Errorf("OK: %+v %v", res, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		p.Answer(Reply{Answer: "NG", Text: "no post"})
		res, err := p.Link.Post(ctx, postRequest(2, "101"))
		if ng, _ := p.code("NG"); res.Outcome != gateway.PostRefused || !res.Sent || res.Answer != ng || !gateway.IsKind(err, gateway.KindRejected) {
			t.Errorf("NG: %+v %v", res, err)
		}
	})
	for code, cause := range map[string]gateway.TransientCause{"RY": gateway.CauseBusy, "NA": gateway.CauseNightAudit} {
		t.Run("transient "+code, func(t *testing.T) {
			p, ctx := openPMS(t, open)
			want, ok := p.code(code)
			if !ok {
				t.Skipf("the PMS has no answer like FIAS %s", code)
			}
			p.Answer(Reply{Answer: code})
			res, err := p.Link.Post(ctx, postRequest(3, "101"))
			if res.Outcome != gateway.PostTransient || !res.Sent || res.Answer != want || res.Cause != cause || !gateway.IsKind(err, gateway.KindTransient) {
				t.Errorf("%s: %+v %v", code, res, err)
			}
		})
	}
	t.Run("no answer: in doubt", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		p.Answer(Reply{Timeout: true})
		res, err := p.Link.Post(ctx, postRequest(4, "101"))
		if res.Outcome != gateway.PostInDoubt || !res.Sent || !errors.Is(err, gateway.ErrInDoubt) || gateway.KindOf(err) != gateway.KindInternal {
			t.Errorf("no answer: %+v %v", res, err)
		}
	})
	t.Run("the caller gives up: in doubt", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		p.Answer(Reply{Silent: true})
		postCtx, cancel := context.WithCancel(ctx)
		type result struct {
			res gateway.PostResult
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := p.Link.Post(postCtx, postRequest(5, "101"))
			done <- result{res, err}
		}()
		if !p.AwaitPostings(ctx, 1) {
			t.Fatal("the posting never reached the PMS")
		}
		cancel()
		select {
		case r := <-done:
			if r.res.Outcome != gateway.PostInDoubt || !r.res.Sent || !errors.Is(r.err, gateway.ErrInDoubt) {
				t.Errorf("given up: %+v %v", r.res, r.err)
			}
		case <-ctx.Done():
			t.Fatal("Post did not return after its ctx ended")
		}
	})
	t.Run("invalid", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		for _, req := range []gateway.PostRequest{postRequest(0, "101"), postRequest(6, ""), postRequest(100_000_000, "101")} {
			res, err := p.Link.Post(ctx, req)
			if res.Outcome != gateway.PostInvalid || res.Sent || !gateway.IsKind(err, gateway.KindInvalid) {
				t.Errorf("posting %d to %q: %+v %v", req.Number, req.Room, res, err)
			}
		}
	})
	t.Run("night audit", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		if p.NightAudit == nil {
			t.Skip("the PMS has no night audit on its link")
		}
		p.NightAudit(true)
		awaitEvent(t, ctx, p.Link, gateway.NightAuditStart)
		awaitStatus(t, ctx, p.Link, func(s gateway.LinkStatus) bool { return s.NightAudit && !s.Ready() })
		res, err := p.Link.Post(ctx, postRequest(7, "101"))
		if res.Outcome != gateway.PostTransient || res.Sent || !gateway.IsKind(err, gateway.KindTransient) {
			t.Errorf("during the night audit: %+v %v", res, err)
		}
		p.NightAudit(false)
		awaitEvent(t, ctx, p.Link, gateway.NightAuditEnd)
		if err := p.Link.WaitReady(ctx); err != nil {
			t.Fatalf("after the night audit: %v", err)
		}
		p.Answer(Reply{Answer: "OK"})
		if res, err := p.Link.Post(ctx, postRequest(8, "101")); res.Outcome != gateway.PostPosted {
			t.Errorf("after the night audit: %+v %v", res, err)
		}
	})
	t.Run("guest events", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		p.CheckIn("102", "R77")
		ev := awaitEvent(t, ctx, p.Link, gateway.GuestCheckIn)
		if ev.Guest.Room != "102" || ev.Guest.Reservation != "R77" {
			t.Errorf("check-in %+v", ev)
		}
		p.CheckOut("102", "R77")
		ev = awaitEvent(t, ctx, p.Link, gateway.GuestCheckOut)
		if ev.Guest.Reservation != "R77" {
			t.Errorf("check-out %+v", ev)
		}
	})
	t.Run("resync", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		p.HoldResync()
		if err := p.Link.Resync(ctx); err != nil {
			t.Fatalf("resync: %v", err)
		}
		if !p.Link.Status().Resync {
			t.Error("no resync in the status after asking for one")
		}
		if err := p.Link.Resync(ctx); !gateway.IsKind(err, gateway.KindTransient) {
			t.Errorf("a second resync while one runs: %v", err)
		}
		res, err := p.Link.Post(ctx, postRequest(9, "101"))
		if res.Outcome != gateway.PostTransient || res.Sent {
			t.Errorf("a posting during a resync: %+v %v", res, err)
		}
	})
	t.Run("close", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		if err := p.Link.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Link.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
		if st := p.Link.Status(); st.State != gateway.LinkClosed {
			t.Errorf("status after close %+v", st)
		}
		res, err := p.Link.Post(ctx, postRequest(10, "101"))
		if res.Outcome != gateway.PostTransient || res.Sent || !gateway.IsKind(err, gateway.KindTransient) {
			t.Errorf("a posting after close: %+v %v", res, err)
		}
		if !drains(ctx, p.Link.GuestEvents()) {
			t.Error("GuestEvents not closed after Close")
		}
		if !drains(ctx, p.Link.StatusChanges()) {
			t.Error("StatusChanges not closed after Close")
		}
	})
}

// drains reads ch until it is closed (true) or ctx ends (false).
func drains[T any](ctx context.Context, ch <-chan T) bool {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

func openPMS(t *testing.T, open OpenPMS) (PMSUnderTest, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	p := open(t)
	if err := p.Link.WaitReady(ctx); err != nil {
		t.Fatalf("the link is not ready: %v (%+v)", err, p.Link.Status())
	}
	return p, ctx
}

func postRequest(n uint32, room string) gateway.PostRequest {
	return gateway.PostRequest{Number: n, Room: room, AmountMinor: 539, Currency: "USD", Reference: "CT-" + itoa(n),
		Start: time.Date(2026, 11, 27, 14, 3, 5, 0, time.UTC), DurationS: 130, Dialed: "011441632960123",
		Class: "international", Trunk: "T9", Destination: "United Kingdom"}
}

// awaitEvent reads guest events until one of kind k comes.
func awaitEvent(t *testing.T, ctx context.Context, l gateway.PMSLink, k gateway.GuestEventKind) gateway.GuestEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-l.GuestEvents():
			if !ok {
				t.Fatalf("the guest events ended before a %s", k)
			}
			if ev.Kind == k {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", k)
		}
	}
}

// awaitStatus waits until the link's status satisfies ok.
func awaitStatus(t *testing.T, ctx context.Context, l gateway.PMSLink, ok func(gateway.LinkStatus) bool) {
	t.Helper()
	if ok(l.Status()) {
		return
	}
	for {
		select {
		case _, open := <-l.StatusChanges():
			if ok(l.Status()) {
				return
			}
			if !open {
				t.Fatalf("the link closed; status %+v", l.Status())
			}
		case <-ctx.Done():
			t.Fatalf("status never came: %+v", l.Status())
		}
	}
}
