package operacloud_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/operacloud"
	"callgate/pms/operacloud/sim"
)

// TestPostCharge: a posting lands on the in-house reservation's folio
// with the class's transaction code, the exact amount, our reference and
// a remark without the number dialed.
func TestPostCharge(t *testing.T) {
	s := startSim(t, sim.Options{})
	res := s.CheckIn("101", "", "Guest")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)
	p := request(7, "101", "GH-7")
	p.AmountMinor = 12005
	r, err := l.Post(ctx, p)
	if err != nil || r.Outcome != gateway.PostPosted || !r.Sent || r.Answer != "OK" || !strings.Contains(r.Text, "transaction") {
		t.Fatalf("%+v %v", r, err)
	}
	led := s.Ledger()
	if len(led) != 1 {
		t.Fatalf("ledger %+v", led)
	}
	c := led[0]
	if c.Reservation != res || c.Code != "9100" || c.AmountMinor != 12005 || c.Currency != "USD" || c.Reference != "GH-7" || c.Cashier != "1001" {
		t.Errorf("charge %+v", c)
	}
	if c.Remark != "Call United Kingdom 2:10" || strings.Contains(c.Remark, "4416") {
		t.Errorf("remark %q", c.Remark)
	}
}

// TestVacant: no in-house reservation in the room: PostVacant, nothing
// sent.
func TestVacant(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)
	r, err := l.Post(ctx, request(1, "102", "V-1"))
	if r.Outcome != gateway.PostVacant || r.Sent || !gateway.IsKind(err, gateway.KindNotFound) {
		t.Fatalf("%+v %v", r, err)
	}
	if s.Received() != 0 {
		t.Errorf("%d charge requests for a vacant room", s.Received())
	}
}

// TestInvalid: a class without a transaction code, an unknown currency
// or a bad reference is invalid, naming the fix; nothing is sent.
func TestInvalid(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)
	premium := request(1, "101", "I-1")
	premium.Class = "premium"
	xxx := request(2, "101", "I-2")
	xxx.Currency = "XXX"
	for _, c := range []struct {
		p    gateway.PostRequest
		want string
	}{
		{premium, "pms.charge.transaction_codes.premium"},
		{xxx, `currency "XXX"`},
		{request(3, "101", ""), "reference"},
		{request(4, "101", "a b"), "reference"},
		{request(5, "101", strings.Repeat("x", 41)), "reference"},
	} {
		r, err := l.Post(ctx, c.p)
		if r.Outcome != gateway.PostInvalid || r.Sent || !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %+v %v", c.p, r, err)
		}
	}
	if s.Received() != 0 {
		t.Errorf("%d charge requests sent", s.Received())
	}
}

// TestRefused: OHIP's 4xx is a refusal with its code and text; a
// reservation checked out between the poll and the posting is refused by
// OPERA (404) too.
func TestRefused(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	o := fastOptions(t, s)
	o.Config.Charge.TransactionCodes["mobile"] = "9999" // a code the hotel does not have
	l := openLink(t, o)
	drainEvents(l)
	ctx := ready(t, l)
	p := request(1, "101", "R-1")
	p.Class = "mobile"
	r, err := l.Post(ctx, p)
	if r.Outcome != gateway.PostRefused || !r.Sent || r.Answer != "INVALID_TRX_CODE" || !strings.Contains(r.Text, "9999") || !gateway.IsKind(err, gateway.KindRejected) {
		t.Fatalf("%+v %v", r, err)
	}
	if len(s.Ledger()) != 0 {
		t.Error("a refused charge was booked")
	}
}

// TestServerErrorInDoubt: a 5xx after the charge went out is in doubt
// (OPERA may have booked it); a lookup then proves it absent.
func TestServerErrorInDoubt(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)
	s.Fail(sim.Fault{Kind: sim.Status, Status: 502, Code: "502", Detail: "Bad Gateway"})
	p := request(1, "101", "E-1")
	r, err := l.Post(ctx, p)
	if r.Outcome != gateway.PostInDoubt || !r.Sent || r.Answer != "502" || !errors.Is(err, gateway.ErrInDoubt) {
		t.Fatalf("%+v %v", r, err)
	}
	lr, err := l.Lookup(ctx, p)
	if err != nil || lr.Found {
		t.Fatalf("lookup %+v %v", lr, err)
	}
}

// TestLostAnswers: a response lost after OPERA booked the charge is found
// by the lookup; one lost before is proven absent, and the second try with
// the same reference books it once. net/http sent neither again by
// itself: one request reached OPERA per Post.
func TestLostAnswers(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)

	// Warm a connection so that the lost answer dies on a reused one,
	// where net/http would replay a request it deems replayable.
	if r, err := l.Post(ctx, request(1, "101", "L-1")); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	s.Fail(sim.Fault{Kind: sim.LoseAfter})
	after := request(2, "101", "L-2")
	after.FirstSent = time.Now()
	r, err := l.Post(ctx, after)
	if r.Outcome != gateway.PostInDoubt || !r.Sent || !errors.Is(err, gateway.ErrInDoubt) {
		t.Fatalf("lost after: %+v %v", r, err)
	}
	if s.Received() != 2 {
		t.Fatalf("%d charge requests, want 2: the transport sent one again", s.Received())
	}
	lr, err := l.Lookup(ctx, after)
	if err != nil || !lr.Found || lr.Answer == "" {
		t.Fatalf("lookup after a loss after booking: %+v %v", lr, err)
	}

	s.Fail(sim.Fault{Kind: sim.LoseBefore})
	before := request(3, "101", "L-3")
	before.FirstSent = time.Now()
	if r, err := l.Post(ctx, before); r.Outcome != gateway.PostInDoubt {
		t.Fatalf("lost before: %+v %v", r, err)
	}
	if s.Received() != 3 {
		t.Fatalf("%d charge requests, want 3", s.Received())
	}
	lr, err = l.Lookup(ctx, before)
	if err != nil || lr.Found {
		t.Fatalf("lookup after a loss before booking: %+v %v", lr, err)
	}
	if r, err := l.Post(ctx, before); r.Outcome != gateway.PostPosted {
		t.Fatalf("second try: %+v %v", r, err)
	}
	refs := map[string]int{}
	for _, c := range s.Ledger() {
		refs[c.Reference]++
	}
	if len(s.Ledger()) != 3 || refs["L-1"] != 1 || refs["L-2"] != 1 || refs["L-3"] != 1 {
		t.Errorf("ledger %+v", s.Ledger())
	}
}

// TestLookupAfterRestart: a link that did not send the posting finds it
// on the room's reservation, but cannot prove it absent (the charge may be
// on a reservation that left the room): an error, not "absent".
func TestLookupAfterRestart(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	first := openLink(t, fastOptions(t, s))
	drainEvents(first)
	ctx := ready(t, first)
	p := request(1, "101", "RS-1")
	p.FirstSent = time.Now()
	if r, err := first.Post(ctx, p); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	_ = first.Close()

	second := openLink(t, fastOptions(t, s))
	drainEvents(second)
	ready(t, second)
	lr, err := second.Lookup(ctx, p)
	if err != nil || !lr.Found {
		t.Fatalf("found after a restart: %+v %v", lr, err)
	}
	other := request(2, "101", "RS-2")
	other.FirstSent = time.Now()
	lr, err = second.Lookup(ctx, other)
	if err == nil || !gateway.IsKind(err, gateway.KindTransient) || lr.Found {
		t.Fatalf("an absence the link cannot prove: %+v %v", lr, err)
	}
}

// TestTokens: one token serves many requests; a token OHIP ends early
// (401) is renewed once and the request sent again; a token near its end
// is renewed before it is refused.
func TestTokens(t *testing.T) {
	s := startSim(t, sim.Options{TokenLife: 2 * time.Second})
	s.CheckIn("101", "", "Guest")
	o := fastOptions(t, s)
	o.Poll = time.Hour // only the postings ask OHIP
	l := openLink(t, o)
	drainEvents(l)
	ctx := ready(t, l)
	for i := 1; i <= 5; i++ {
		if r, err := l.Post(ctx, request(uint32(i), "101", "T-"+string(rune('0'+i)))); r.Outcome != gateway.PostPosted {
			t.Fatalf("%+v %v", r, err)
		}
	}
	c := s.Counts()
	if c.Unauthorized != 0 {
		t.Errorf("%d requests refused 401 before any expiry", c.Unauthorized)
	}
	s.ExpireTokens()
	if r, err := l.Post(ctx, request(9, "101", "T-9")); r.Outcome != gateway.PostPosted {
		t.Fatalf("after expiry: %+v %v", r, err)
	}
	after := s.Counts()
	if after.Unauthorized != 1 || after.Tokens <= c.Tokens {
		t.Errorf("after expiry: %+v (before %+v)", after, c)
	}
	if len(s.Ledger()) != 6 {
		t.Errorf("ledger has %d charges, want 6", len(s.Ledger()))
	}
	// Tokens live 2 s and are renewed from 1 s before their end: a
	// posting 1.2 s after the renewal gets a new token although the old
	// one still works.
	renewed := time.Now()
	testutil.WaitFor(t, 5*time.Second, "the token's renewal time", func() bool { return time.Since(renewed) > 1200*time.Millisecond })
	if r, err := l.Post(ctx, request(10, "101", "T-10")); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	if c := s.Counts(); c.Tokens != after.Tokens+1 || c.Unauthorized != 1 {
		t.Errorf("renewal: %+v (before %+v)", c, after)
	}
}

// TestThrottled: 429s are waited out (Retry-After) within the answer
// timeout; beyond it the posting is transient, nothing booked.
func TestThrottled(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	o := fastOptions(t, s)
	o.AnswerTimeout = 5 * time.Second
	l := openLink(t, o)
	drainEvents(l)
	ctx := ready(t, l)
	s.Storm(2)
	if r, err := l.Post(ctx, request(1, "101", "TH-1")); r.Outcome != gateway.PostPosted {
		t.Fatalf("after a short storm: %+v %v", r, err)
	}
	if c := s.Counts(); c.Throttled != 2 {
		t.Errorf("throttled %d, want 2", c.Throttled)
	}

	o = fastOptions(t, s)
	o.AnswerTimeout = 300 * time.Millisecond // shorter than Retry-After
	short := openLink(t, o)
	drainEvents(short)
	ready(t, short)
	s.Storm(1000)
	r, err := short.Post(ctx, request(2, "101", "TH-2"))
	s.Storm(0)
	if r.Outcome != gateway.PostTransient || !gateway.IsKind(err, gateway.KindTransient) {
		t.Fatalf("in a long storm: %+v %v", r, err)
	}
	if len(s.Ledger()) != 1 {
		t.Errorf("ledger %+v", s.Ledger())
	}
}

// TestDown: bad credentials and an unreachable OHIP take the link down
// with the reason; postings wait (transient, not sent).
func TestDown(t *testing.T) {
	s := startSim(t, sim.Options{})
	o := fastOptions(t, s)
	o.ClientSecret = "wrong"
	l := openLink(t, o)
	drainEvents(l)
	testutil.WaitFor(t, 10*time.Second, "the link down", func() bool { return l.Status().State == gateway.LinkDown })
	if st := l.Status(); !strings.Contains(st.Err, "credentials") || strings.Contains(st.Err, "wrong") {
		t.Errorf("status %+v", st)
	}
	r, err := l.Post(context.Background(), request(1, "101", "D-1"))
	if r.Outcome != gateway.PostTransient || r.Sent || !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("%+v %v", r, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	o = fastOptions(t, s)
	o.Config.BaseURL = "http://" + addr
	gone := openLink(t, o)
	drainEvents(gone)
	testutil.WaitFor(t, 10*time.Second, "the link down", func() bool { return gone.Status().State == gateway.LinkDown })
	if st := gone.Status(); !strings.Contains(st.Err, "cannot reach") {
		t.Errorf("status %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := gone.WaitReady(ctx); err == nil {
		t.Error("ready without OHIP")
	}
}

// TestGuestEvents: the first read is a resync bracket with the house;
// later reads deliver check-ins, room moves and check-outs.
func TestGuestEvents(t *testing.T) {
	s := startSim(t, sim.Options{})
	a := s.CheckIn("101", "", "Ames")
	b := s.CheckIn("102", "", "Bell")
	l := openLink(t, fastOptions(t, s))
	ctx := ready(t, l)
	next := func() gateway.GuestEvent {
		t.Helper()
		select {
		case ev := <-l.GuestEvents():
			return ev
		case <-ctx.Done():
			t.Fatal("no guest event")
		}
		return gateway.GuestEvent{}
	}
	if ev := next(); ev.Kind != gateway.ResyncStart {
		t.Fatalf("first %+v", ev)
	}
	for _, want := range []string{a, b} {
		if ev := next(); ev.Kind != gateway.GuestCheckIn || !ev.Resync || ev.Guest.Reservation != want || ev.Guest.LastName == "" {
			t.Fatalf("resync check-in %+v, want %s", ev, want)
		}
	}
	if ev := next(); ev.Kind != gateway.ResyncEnd || ev.Partial {
		t.Fatalf("end %+v", ev)
	}
	c := s.CheckIn("101", "", "Cole") // a sharer
	if ev := next(); ev.Kind != gateway.GuestChange || ev.Guest.Reservation != a || !ev.Guest.Shared {
		t.Fatalf("share %+v", ev)
	}
	if ev := next(); ev.Kind != gateway.GuestCheckIn || ev.Guest.Reservation != c || !ev.Guest.Shared || ev.Resync {
		t.Fatalf("check-in %+v", ev)
	}
	s.Move(b, "105")
	if ev := next(); ev.Kind != gateway.GuestChange || ev.Guest.Room != "105" || ev.OldRoom != "102" {
		t.Fatalf("move %+v", ev)
	}
	s.CheckOut(c)
	if ev := next(); ev.Kind != gateway.GuestCheckOut || ev.Guest.Reservation != c || ev.Guest.Room != "101" {
		t.Fatalf("check-out %+v", ev)
	}
	if ev := next(); ev.Kind != gateway.GuestChange || ev.Guest.Reservation != a || ev.Guest.Shared {
		t.Fatalf("no longer shared %+v", ev)
	}
	if err := l.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Kind != gateway.ResyncStart {
		t.Fatalf("resync %+v", ev)
	}
}

// TestSharers: a posting to a shared room goes to the earliest arrival,
// then the lowest reservation id.
func TestSharers(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "200", "Later")
	s.CheckIn("101", "100", "First")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)
	if r, err := l.Post(ctx, request(1, "101", "S-1")); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	if c := s.Ledger()[0]; c.Reservation != "100" {
		t.Errorf("charged to %s", c.Reservation)
	}
}

// TestCapability: the link declares lookup.
func TestCapability(t *testing.T) {
	var p gateway.PostProver = &operacloud.Link{}
	if p.Capability() != gateway.CapabilityLookup {
		t.Error(p.Capability())
	}
}

// TestPasswordGrant: with a username the link takes its token with the
// password grant of an integration user.
func TestPasswordGrant(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	o := fastOptions(t, s)
	o.Config.Auth.Username, o.Password = s.Options().Username, s.Options().Password
	l := openLink(t, o)
	drainEvents(l)
	ctx := ready(t, l)
	if r, err := l.Post(ctx, request(1, "101", "PG-1")); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	o.Password = "wrong"
	bad := openLink(t, o)
	drainEvents(bad)
	testutil.WaitFor(t, 10*time.Second, "the link down", func() bool { return bad.Status().State == gateway.LinkDown })
}

// TestLookupAfterRoomChange: a posting whose first try was lost before
// booking, while its guest left and another came into the room, is proven
// absent on the first reservation, sent again to the room's new stay, and
// found there after a second loss.
func TestLookupAfterRoomChange(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "500", "First")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ctx := ready(t, l)
	p := request(1, "101", "RC-1")
	p.FirstSent = time.Now()
	s.Fail(sim.Fault{Kind: sim.LoseBefore})
	if r, err := l.Post(ctx, p); r.Outcome != gateway.PostInDoubt {
		t.Fatalf("%+v %v", r, err)
	}
	s.CheckOut("500")
	s.CheckIn("101", "600", "Second")
	if lr, err := l.Lookup(ctx, p); err != nil || lr.Found || !strings.Contains(lr.Text, "500") {
		t.Fatalf("first lookup %+v %v", lr, err)
	}
	s.Fail(sim.Fault{Kind: sim.LoseAfter})
	if r, err := l.Post(ctx, p); r.Outcome != gateway.PostInDoubt {
		t.Fatalf("%+v %v", r, err)
	}
	lr, err := l.Lookup(ctx, p)
	if err != nil || !lr.Found || !strings.Contains(lr.Text, "500, 600") {
		t.Fatalf("second lookup %+v %v", lr, err)
	}
	if led := s.Ledger(); len(led) != 1 || led[0].Reservation != "600" {
		t.Errorf("ledger %+v", led)
	}
}

// TestPaging: the house is read page by page (hasMore, offset) into one
// resync bracket.
func TestPaging(t *testing.T) {
	s := startSim(t, sim.Options{})
	for i := 0; i < 25; i++ {
		s.CheckIn(fmt.Sprint(201+i), "", "Guest")
	}
	o := fastOptions(t, s)
	o.PageSize = 10
	l := openLink(t, o)
	ctx := ready(t, l)
	checkIns := 0
	for {
		select {
		case ev := <-l.GuestEvents():
			switch ev.Kind {
			case gateway.GuestCheckIn:
				checkIns++
			case gateway.ResyncEnd:
				if checkIns != 25 {
					t.Errorf("%d check-ins in the resync, want 25", checkIns)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no resync end")
		}
	}
}

// TestRefusedToken: OHIP refusing a charge's new token too (401 twice)
// leaves it unbooked: transient, not in doubt, and the link down until a
// read of the house gets through. An integration user whose access is
// withdrawn takes the link down at the next read.
func TestRefusedToken(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn("101", "", "Guest")
	o := fastOptions(t, s)
	o.Poll = time.Hour // reads only at the start, after a failure, or asked
	o.MaxBackoff = 50 * time.Millisecond
	l := openLink(t, o)
	drainEvents(l)
	ctx := ready(t, l)
	unauthorized := sim.Fault{Kind: sim.Status, Status: 401, Code: "401", Detail: "invalid token"}
	s.Fail(unauthorized, unauthorized)
	r, err := l.Post(ctx, request(1, "101", "RT-1"))
	if r.Outcome != gateway.PostTransient || !r.Sent || r.Answer != "401" || errors.Is(err, gateway.ErrInDoubt) || !gateway.IsKind(err, gateway.KindTransient) {
		t.Fatalf("%+v %v", r, err)
	}
	if st := l.Status(); st.State != gateway.LinkDown || !strings.Contains(st.Err, "credentials") {
		t.Errorf("status %+v", st)
	}
	if err := l.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Post(ctx, request(2, "101", "RT-2")); r.Outcome != gateway.PostPosted {
		t.Fatalf("after the refusal: %+v %v", r, err)
	}
	if led := s.Ledger(); len(led) != 1 || led[0].Reference != "RT-2" {
		t.Errorf("ledger %+v", led)
	}

	s.RejectAll(true)
	if err := l.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the link down", func() bool { return l.Status().State == gateway.LinkDown })
	s.RejectAll(false)
	if err := l.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}
