package gatewaytest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// NightAudit starts or ends the PMS's night audit; nil when the PMS
	// has no night-audit signal (a cloud PMS): its subtest is skipped.
	NightAudit func(on bool)
	// HoldResync makes the PMS leave resync requests unanswered.
	HoldResync func()
	// Unsupported names the subtests this PMS cannot play (a cloud PMS
	// has no FIAS RY or NA answer and no night-audit signal), each with
	// why; they are skipped with that reason.
	Unsupported map[string]string
	// Codes maps the suite's answer names (FIAS's: OK, NG, RY, NA) to
	// the link's own answer codes (a cloud PMS: HTTP statuses); nil means
	// the names themselves. A name missing from a non-nil map is an
	// answer the PMS cannot give: its subtest is skipped. Answer gets the
	// suite's names.
	Codes map[string]string
	// Charges, if set, counts the charges the PMS booked with a posting
	// reference (its ledger): the idempotent case checks that the same key
	// sent twice is booked once.
	Charges func(ctx context.Context, reference string) int
}

// code returns the link's answer code for the suite's answer name, and
// whether the PMS can give it.
func (p PMSUnderTest) code(name string) (string, bool) {
	if p.Codes == nil {
		return name, true
	}
	c, ok := p.Codes[name]
	return c, ok
}

// need skips t when the PMS cannot give the answer name.
func (p PMSUnderTest) need(t *testing.T, name string) string {
	t.Helper()
	c, ok := p.code(name)
	if !ok {
		t.Skipf("the PMS has no answer like FIAS %s", name)
	}
	return c
}

// OpenPMS opens a link connected to a fresh PMS, ready (alive) for
// postings, with room 101 occupied (102 vacant) and an answer timeout short
// enough for a test; the test's cleanup closes both.
type OpenPMS func(t *testing.T) PMSUnderTest

// PMSLinkContract checks that open's links keep the contract of
// gateway.PMSLink: the outcome, the Sent flag and the error kind of every
// kind of answer (OK, refused, RY and NA, no answer, the caller giving up,
// an invalid request, a link not ready), guest and night-audit events,
// resync requests and Close; and, by the link's capability
// (gateway.PostProver), that a lookup finds a booked posting by its
// reference and nothing for a reference never sent, or that a posting sent
// twice with the same key is booked once. It runs against the fake
// (NewPMSLink, each capability) and against pms/fias with its simulator
// over TCP.
func PMSLinkContract(t *testing.T, open OpenPMS) {
	PostProverContract(t, open)
	t.Run("posted", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		ok := p.need(t, "OK")
		p.Answer(Reply{Answer: "OK"})
		res, err := p.Link.Post(ctx, postRequest(1, "101"))
		if err != nil || res.Outcome != gateway.PostPosted || !res.Sent || res.Answer != ok || res.At.IsZero() {
			t.Errorf("OK: %+v %v", res, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		ng := p.need(t, "NG")
		p.Answer(Reply{Answer: "NG", Text: "no post"})
		res, err := p.Link.Post(ctx, postRequest(2, "101"))
		if res.Outcome != gateway.PostRefused || !res.Sent || res.Answer != ng || !gateway.IsKind(err, gateway.KindRejected) {
			t.Errorf("NG: %+v %v", res, err)
		}
	})
	for code, cause := range map[string]gateway.TransientCause{"RY": gateway.CauseBusy, "NA": gateway.CauseNightAudit} {
		t.Run("transient "+code, func(t *testing.T) {
			p, ctx := openPMS(t, open)
			want := p.need(t, code)
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
			t.Skip("the PMS has no night-audit signal")
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

// PostProverContract checks what a link's capability promises (part of
// PMSLinkContract): a blind link (no gateway.PostProver, or
// CapabilityBlind) promises nothing more; a lookup link finds a posting it
// booked by its Reference and nothing for a reference never sent, and says
// so for a PMS it could not ask; an idempotent link answers posted to the
// same posting sent again with the same Reference, and its PMS books it
// once (when the test can count, Charges). A link that is not a lookup one
// refuses Lookup with KindInvalid.
func PostProverContract(t *testing.T, open OpenPMS) {
	capability := func(p PMSUnderTest) (gateway.PostCapability, gateway.PostProver) {
		pp, ok := p.Link.(gateway.PostProver)
		if !ok {
			return gateway.CapabilityBlind, nil
		}
		return pp.Capability(), pp
	}
	// reference is one no PMS of a test has seen.
	reference := func(tag string) string {
		return fmt.Sprintf("contract-%s-%d", tag, time.Now().UnixNano())
	}
	t.Run("lookup finds a booked posting", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		c, pp := capability(p)
		if c != gateway.CapabilityLookup {
			t.Skipf("the link is %s: it cannot look postings up", c)
		}
		req := postRequest(21, "101")
		req.Reference = reference("booked")
		p.Answer(Reply{Answer: "OK"})
		if res, err := p.Link.Post(ctx, req); res.Outcome != gateway.PostPosted {
			t.Fatalf("posting: %+v %v", res, err)
		}
		req.FirstSent = time.Now().Add(-time.Minute)
		got, err := pp.Lookup(ctx, req)
		if err != nil || !got.Found || got.At.IsZero() {
			t.Errorf("lookup of a booked posting: %+v %v", got, err)
		}
	})
	t.Run("lookup of a reference never sent finds nothing", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		c, pp := capability(p)
		if c != gateway.CapabilityLookup {
			t.Skipf("the link is %s: it cannot look postings up", c)
		}
		req := postRequest(22, "101")
		req.Reference = reference("never")
		req.FirstSent = time.Now().Add(-time.Minute)
		got, err := pp.Lookup(ctx, req)
		if err != nil || got.Found {
			t.Errorf("lookup of a reference never sent: %+v %v", got, err)
		}
	})
	t.Run("the same key twice is booked once", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		if c, _ := capability(p); c != gateway.CapabilityIdempotent {
			t.Skipf("the link is %s: it promises no key", c)
		}
		req := postRequest(23, "101")
		req.Reference = reference("key")
		p.Answer(Reply{Answer: "OK"})
		if res, err := p.Link.Post(ctx, req); res.Outcome != gateway.PostPosted {
			t.Fatalf("first sending: %+v %v", res, err)
		}
		req.FirstSent = time.Now().Add(-time.Second)
		p.Answer(Reply{Answer: "OK"})
		if res, err := p.Link.Post(ctx, req); res.Outcome != gateway.PostPosted {
			t.Errorf("the same key again: %+v %v", res, err)
		}
		if p.Charges != nil {
			if n := p.Charges(ctx, req.Reference); n != 1 {
				t.Errorf("%d charges booked with key %s, want 1", n, req.Reference)
			}
		}
	})
	t.Run("lookup refused by a link that cannot look up", func(t *testing.T) {
		p, ctx := openPMS(t, open)
		c, pp := capability(p)
		if pp == nil || c == gateway.CapabilityLookup {
			t.Skipf("the link is %s", c)
		}
		req := postRequest(24, "101")
		req.Reference = reference("nolookup")
		if got, err := pp.Lookup(ctx, req); !gateway.IsKind(err, gateway.KindInvalid) {
			t.Errorf("Lookup on a %s link: %+v %v, want an error of kind invalid", c, got, err)
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
	name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
	for sub, why := range p.Unsupported {
		if strings.ReplaceAll(sub, " ", "_") == name {
			t.Skip(why)
		}
	}
	if err := p.Link.WaitReady(ctx); err != nil {
		t.Fatalf("the link is not ready: %v (%+v)", err, p.Link.Status())
	}
	return p, ctx
}

func postRequest(n uint32, room string) gateway.PostRequest {
	return gateway.PostRequest{Number: n, Room: room, AmountMinor: 539, Currency: "USD",
		Start: time.Date(2026, 11, 27, 14, 3, 5, 0, time.UTC), DurationS: 130, Dialed: "011441632960123",
		Class: "international", Trunk: "T9", Destination: "United Kingdom",
		Reference: "CT-" + strconv.FormatUint(uint64(n), 10)}
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
