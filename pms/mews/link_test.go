package mews_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestVacant: a room nobody is in gets PostVacant and nothing is sent to
// Mews; so does a room whose guest left after the last poll (the stay is
// resolved again just before posting).
func TestVacant(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	o := fastOptions(t, s)
	o.PollInterval = time.Hour // only the first poll: the link believes 101 is occupied
	l := openLink(t, o)
	drainEvents(l)
	ready(t, l)
	ctx := testCtx(t)
	res, err := l.Post(ctx, request(1, "102", "local", 100))
	if res.Outcome != gateway.PostVacant || res.Sent || err == nil || !strings.Contains(err.Error(), "no guest in house") {
		t.Errorf("vacant room: %+v %v", res, err)
	}
	if err := s.CheckOut("R101"); err != nil {
		t.Fatal(err)
	}
	res, err = l.Post(ctx, request(2, "101", "local", 100))
	if res.Outcome != gateway.PostVacant || res.Sent {
		t.Errorf("room left since the last poll: %+v %v", res, err)
	}
	if n := s.Received(); n != 0 || len(s.Ledger()) != 0 {
		t.Errorf("%d orders reached Mews, %d booked; want none", n, len(s.Ledger()))
	}
}

// TestUnknownRoomAndClass: a room Mews does not have and a class without
// an accounting category are exceptions naming the fix; nothing is sent.
func TestUnknownRoomAndClass(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ready(t, l)
	ctx := testCtx(t)
	res, err := l.Post(ctx, request(1, "999", "local", 100))
	if res.Outcome != gateway.PostInvalid || res.Sent || !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "not a resource in Mews") {
		t.Errorf("unknown room: %+v %v", res, err)
	}
	res, err = l.Post(ctx, request(2, "101", "satellite", 100))
	if res.Outcome != gateway.PostInvalid || res.Sent || !strings.Contains(err.Error(), "pms.charge.accounting_categories.satellite") {
		t.Errorf("class without category: %+v %v", res, err)
	}
	if s.Received() != 0 {
		t.Errorf("%d orders reached Mews", s.Received())
	}
}

// TestPostedAndLookup: a posting is booked with its reference, the
// lookup finds it by reference (and not another), and a posting never
// booked is certainly absent.
func TestPostedAndLookup(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101", "102"); err != nil {
		t.Fatal(err)
	}
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ready(t, l)
	ctx := testCtx(t)
	if l.Capability() != gateway.CapabilityLookup {
		t.Errorf("capability %s", l.Capability())
	}
	p := request(7, "102", "mobile", 1234)
	p.FirstSent = time.Now()
	res, err := l.Post(ctx, p)
	if err != nil || res.Outcome != gateway.PostPosted || res.Answer != "200" || !strings.HasPrefix(res.Text, "order ") {
		t.Fatalf("%+v %v", res, err)
	}
	led := s.Ledger()
	if len(led) != 1 || led[0].Reference != p.Reference || led[0].AmountMinor != 1234 || led[0].Room != "102" ||
		led[0].AccountingCategoryID != sim.DefaultAccountingCategories["mobile"] || led[0].TaxCodes[0] != "DE-2020-1-S" ||
		!strings.Contains(led[0].Notes, "00441632960123") || led[0].Name != "Call United Kingdom 2:10" {
		t.Fatalf("ledger %+v", led)
	}
	found, err := l.Lookup(ctx, p)
	if err != nil || !found.Found || found.Answer != led[0].ItemID || found.At.IsZero() {
		t.Errorf("lookup of the posted one: %+v %v", found, err)
	}
	// A link that did not send it (the gateway restarted) finds it too:
	// by service and creation time, without the account.
	l2 := openLink(t, fastOptions(t, s))
	drainEvents(l2)
	ready(t, l2)
	if r, err := l2.Lookup(ctx, p); err != nil || !r.Found || r.Answer != led[0].ItemID {
		t.Errorf("lookup from a fresh link: %+v %v", r, err)
	}
	other := request(8, "102", "mobile", 1234)
	other.FirstSent = time.Now()
	absent, err := l.Lookup(ctx, other)
	if err != nil || absent.Found || absent.Text == "" {
		t.Errorf("lookup of one never sent: %+v %v", absent, err)
	}
	other.FirstSent = time.Time{}
	if _, err := l.Lookup(ctx, other); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("lookup without FirstSent: %v", err)
	}
	// Mews failing is no answer: the lookup is asked again later. Every
	// request meets the 429, not only the first: the links' pollers also
	// read, and one of them may take a single one.
	s.SetFaults(sim.Faults{Storm: 1000, StormRetryAfter: time.Second})
	if _, err := l.Lookup(ctx, p); !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("lookup meeting a 429: %v", err)
	}
}

// TestServerErrors: a 5xx to orders/add may or may not have booked the
// charge: in doubt either way, and the lookup tells which.
func TestServerErrors(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ready(t, l)
	ctx := testCtx(t)
	for i, applied := range []bool{true, false} {
		s.SetFaults(sim.Faults{Fail: 1, FailStatus: http.StatusServiceUnavailable, FailApplied: applied})
		p := request(uint32(10+i), "101", "local", 100)
		p.FirstSent = time.Now()
		res, err := l.Post(ctx, p)
		if res.Outcome != gateway.PostInDoubt || !res.Sent || res.Answer != "503" || !errors.Is(err, gateway.ErrInDoubt) {
			t.Errorf("503 (booked %v): %+v %v", applied, res, err)
		}
		r, err := l.Lookup(ctx, p)
		if err != nil || r.Found != applied {
			t.Errorf("lookup after a 503 (booked %v): %+v %v", applied, r, err)
		}
	}
	// 409: Mews did not book it ("the data has changed"): transient, sent again.
	s.SetFaults(sim.Faults{Fail: 1, FailStatus: http.StatusConflict, FailMessage: "The data has changed."})
	res, err := l.Post(ctx, request(30, "101", "local", 100))
	if res.Outcome != gateway.PostTransient || !res.Sent || res.Cause != gateway.CauseBusy || res.Answer != "409" || !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("409: %+v %v", res, err)
	}
	// 408 on a write may come after booking: in doubt.
	s.SetFaults(sim.Faults{Fail: 1, FailStatus: http.StatusRequestTimeout, FailApplied: true})
	if res, err := l.Post(ctx, request(31, "101", "local", 100)); res.Outcome != gateway.PostInDoubt || !errors.Is(err, gateway.ErrInDoubt) {
		t.Errorf("408: %+v %v", res, err)
	}
	// A refusal carries Mews's message.
	s.SetFaults(sim.Faults{Fail: 1, FailStatus: http.StatusForbidden, FailMessage: "The reservation is set to No Post."})
	res, err = l.Post(ctx, request(20, "101", "local", 100))
	if res.Outcome != gateway.PostRefused || res.Text != "The reservation is set to No Post." || !gateway.IsKind(err, gateway.KindRejected) {
		t.Errorf("403: %+v %v", res, err)
	}
}

// TestLostAnswersNotReplayed: an orders/add whose connection dies, on a
// connection used before, reaches Mews exactly once: net/http does not
// send it again by itself (docs/pms-mews.md, "Who resends").
func TestLostAnswersNotReplayed(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	o := fastOptions(t, s)
	o.PollInterval = time.Hour
	l := openLink(t, o)
	drainEvents(l)
	ready(t, l)
	ctx := testCtx(t)
	if res, err := l.Post(ctx, request(1, "101", "local", 100)); res.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", res, err)
	}
	for i, f := range []sim.Faults{{LoseBefore: 1}, {LoseAfter: 1}} {
		s.SetFaults(f)
		before := s.Received()
		res, err := l.Post(ctx, request(uint32(2+i), "101", "local", 100))
		if res.Outcome != gateway.PostInDoubt || !res.Sent {
			t.Errorf("%+v: %+v %v", f, res, err)
		}
		if n := s.Received() - before; n != 1 {
			t.Errorf("%+v: the posting reached Mews %d times, want once", f, n)
		}
	}
}

// failingTransport fails every orders/add before writing it.
type failingTransport struct{ http.RoundTripper }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, mews.PathAddOrder) {
		return nil, errors.New("dial tcp: connection refused")
	}
	return f.RoundTripper.RoundTrip(r)
}

// TestNotSentIsTransient: a request that never left is transient and not
// sent; the engine may send it again.
func TestNotSentIsTransient(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	o := fastOptions(t, s)
	o.Transport = failingTransport{http.DefaultTransport}
	l := openLink(t, o)
	drainEvents(l)
	ready(t, l)
	res, err := l.Post(testCtx(t), request(1, "101", "local", 100))
	if res.Outcome != gateway.PostTransient || res.Sent || !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("%+v %v", res, err)
	}
}

// TestTokenRevoked: Mews refusing the access token takes the link down
// with a sentence naming the file to fix; a new token in the file brings
// it back without a restart. The tokens never reach the log.
func TestTokenRevoked(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	var logs testutil.Buffer
	o := fastOptions(t, s)
	o.Logger = testutil.Logger(t, &logs)
	l := openLink(t, o)
	drainEvents(l)
	ready(t, l)
	ctx := testCtx(t)
	const fresh = "AAAA298010F54B069F3DAD20015D53EA-D5561FADFBA4EFC8EA4C179C6BC461F"
	s.RotateAccessToken(fresh)
	testutil.WaitFor(t, 10*time.Second, "the link down", func() bool { return l.Status().State == gateway.LinkDown })
	if st := l.Status(); !strings.Contains(st.Err, "pms.auth.access_token_file") {
		t.Errorf("down for %q", st.Err)
	}
	res, err := l.Post(ctx, request(1, "101", "local", 100))
	if res.Outcome != gateway.PostTransient || res.Sent {
		t.Errorf("posting while down: %+v %v", res, err)
	}
	if err := os.WriteFile(o.Config.Auth.AccessTokenFile, []byte(fresh+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ready(t, l)
	if res, err := l.Post(ctx, request(2, "101", "local", 100)); res.Outcome != gateway.PostPosted {
		t.Errorf("after the new token: %+v %v", res, err)
	}
	for _, secret := range []string{sim.DefaultAccessToken, sim.DefaultClientToken, fresh} {
		if strings.Contains(logs.String(), secret) {
			t.Error("a token is in the log")
		}
	}
	if strings.Contains(logs.String(), "1632960123") {
		t.Error("a dialed number is in the log above debug level")
	}
}

// TestGuestEvents: the first poll is a resync of the house; later polls
// deliver check-ins, moves, sharing and check-outs as they happen;
// Resync reads the house again between brackets.
func TestGuestEvents(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	l := openLink(t, fastOptions(t, s))
	want := func(k gateway.GuestEventKind, check func(gateway.GuestEvent) bool) {
		t.Helper()
		ev := awaitKind(t, l, k)
		if !check(ev) {
			t.Errorf("%s: %+v", k, ev)
		}
	}
	want(gateway.ResyncStart, func(gateway.GuestEvent) bool { return true })
	want(gateway.GuestCheckIn, func(ev gateway.GuestEvent) bool {
		return ev.Resync && ev.Guest.Room == "101" && ev.Guest.Reservation == "R101" && !ev.Carried().Has(gateway.FieldLastName) && ev.Carried().Has(gateway.FieldDeparture)
	})
	want(gateway.ResyncEnd, func(ev gateway.GuestEvent) bool { return !ev.Partial })
	ready(t, l)

	if _, err := s.CheckIn("102", "R9"); err != nil {
		t.Fatal(err)
	}
	want(gateway.GuestCheckIn, func(ev gateway.GuestEvent) bool {
		now := time.Now().UTC() // the link's time zone is UTC: wall clock = UTC
		return !ev.Resync && ev.Guest.Room == "102" && ev.Guest.Reservation == "R9" && ev.Time.After(now.Add(-time.Minute)) && !ev.Time.After(now)
	})
	if err := s.Move("R9", "103"); err != nil {
		t.Fatal(err)
	}
	want(gateway.GuestChange, func(ev gateway.GuestEvent) bool { return ev.Guest.Room == "103" && ev.OldRoom == "102" })
	if _, err := s.CheckIn("103", "R10"); err != nil {
		t.Fatal(err)
	}
	want(gateway.GuestChange, func(ev gateway.GuestEvent) bool { return ev.Guest.Reservation == "R9" && ev.Guest.Shared })
	if err := s.CheckOut("R9"); err != nil {
		t.Fatal(err)
	}
	want(gateway.GuestCheckOut, func(ev gateway.GuestEvent) bool { return ev.Guest.Reservation == "R9" && ev.Guest.Room == "103" })

	if err := l.Resync(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	want(gateway.ResyncStart, func(gateway.GuestEvent) bool { return true })
	rooms := map[string]bool{}
	for {
		ev := <-l.GuestEvents()
		if ev.Kind == gateway.ResyncEnd {
			break
		}
		if ev.Kind != gateway.GuestCheckIn || !ev.Resync {
			t.Errorf("during the resync: %+v", ev)
		}
		rooms[ev.Guest.Room+"/"+ev.Guest.Reservation] = true
	}
	if len(rooms) != 2 || !rooms["101/R101"] || !rooms["103/R10"] {
		t.Errorf("resync delivered %v", rooms)
	}
}

// TestUnreachable: Mews gone takes the link down with the reason, told on
// StatusChanges; postings wait, not sent; Mews back brings it alive.
func TestUnreachable(t *testing.T) {
	s := startSim(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.URL(), "http://")
	l := openLink(t, fastOptions(t, s))
	drainEvents(l)
	ready(t, l)
	s.Close()
	ctx := testCtx(t)
	for st := l.Status(); st.State != gateway.LinkDown; {
		select {
		case st = <-l.StatusChanges():
		case <-ctx.Done():
			t.Fatalf("never down: %+v", l.Status())
		}
	}
	if st := l.Status(); !strings.Contains(st.Err, "Mews did not answer") {
		t.Errorf("down for %q", st.Err)
	}
	res, err := l.Post(ctx, request(1, "101", "local", 100))
	if res.Outcome != gateway.PostTransient || res.Sent {
		t.Errorf("posting while down: %+v %v", res, err)
	}
	// Mews is back, on the same address and with the same rooms.
	s2 := startSim(t, sim.Options{Listen: addr})
	if err := s2.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	ready(t, l)
	if res, err := l.Post(ctx, request(2, "101", "local", 100)); res.Outcome != gateway.PostPosted || len(s2.Ledger()) != 1 {
		t.Errorf("after Mews came back: %+v %v", res, err)
	}
}

// TestCloseWithUnreadEvents: Close does not wait for an engine that does
// not read: the events it cannot deliver are dropped after a moment, and
// the channel is closed.
func TestCloseWithUnreadEvents(t *testing.T) {
	var rooms []string
	for r := 1; r <= 300; r++ {
		rooms = append(rooms, itoa(uint32(r)))
	}
	s := startSim(t, sim.Options{Rooms: rooms})
	if err := s.Occupy(rooms...); err != nil {
		t.Fatal(err)
	}
	l := openLink(t, fastOptions(t, s))
	testutil.WaitFor(t, 10*time.Second, "the events buffer full", func() bool { return len(l.GuestEvents()) == cap(l.GuestEvents()) })
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a reader that never comes")
	}
	n := 0
	for range l.GuestEvents() {
		n++
	}
	if n != cap(l.GuestEvents()) {
		t.Errorf("%d events delivered after Close, want the %d buffered", n, cap(l.GuestEvents()))
	}
}
