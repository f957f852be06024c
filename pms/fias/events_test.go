package fias_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
)

// TestGuestEvents: check-in, sharer, change, no-post, move (RO and two GS),
// check-out, each delivered in PMS order with the fields it carried.
func TestGuestEvents(t *testing.T) {
	s := startSim(t, sim.Options{})
	l := connect(t, s, func(o *fias.Options) {})
	a, _ := s.CheckIn(gateway.Guest{Room: "101", LastName: "Hartley", FirstName: "Ann", Language: "EA", ClassOfService: "3",
		Arrival: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Departure: time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)})
	b, _ := s.CheckIn(gateway.Guest{Room: "101", LastName: "Hartley", FirstName: "Tom"})
	s.Update(a, func(g *gateway.Guest) { g.LastName = "Hartley-Lee" })
	s.SetNoPost(b, true)
	s.Move(a, "110")
	s.CheckOut(b)

	ev := nextEvent(t, l)
	if ev.Kind != gateway.GuestCheckIn || ev.Guest.Reservation != a || ev.Guest.Shared || ev.Guest.FirstName != "Ann" ||
		ev.Guest.ClassOfService != "3" || ev.Guest.Arrival.Day() != 1 || ev.Guest.Departure.Day() != 4 || ev.Resync || ev.Time.IsZero() {
		t.Errorf("check-in: %+v", ev)
	}
	if ev = nextEvent(t, l); ev.Kind != gateway.GuestCheckIn || ev.Guest.Reservation != b || !ev.Guest.Shared {
		t.Errorf("sharer: %+v", ev)
	}
	ev = nextEvent(t, l)
	if ev.Kind != gateway.GuestChange || ev.Guest.LastName != "Hartley-Lee" || ev.Carried() != gateway.FieldLastName {
		t.Errorf("change: %+v", ev)
	}
	if ev = nextEvent(t, l); ev.Kind != gateway.GuestChange || !ev.Guest.NoPost || ev.Carried() != gateway.FieldNoPost {
		t.Errorf("no-post: %+v", ev)
	}
	ev = nextEvent(t, l)
	if ev.Kind != gateway.GuestChange || ev.Guest.Room != "110" || ev.OldRoom != "101" || ev.Guest.Shared || ev.OldRoomShared || !ev.Carried().Has(gateway.FieldShared) {
		t.Errorf("move: %+v", ev)
	}
	if ev = nextEvent(t, l); ev.Kind != gateway.GuestCheckOut || ev.Guest.Reservation != b || ev.Guest.Room != "101" {
		t.Errorf("check-out: %+v", ev)
	}
	noViolations(t, s)
}

// TestGuestEventParse: the two GS of a move are told apart by order, and
// by place when only one is there.
func TestGuestEventParse(t *testing.T) {
	for _, tc := range []struct {
		text              string
		shared, oldShared bool
		hasGS             bool
	}{
		{"GC|RN310|GSN|G#1|RO214|GSY|", false, true, true},
		{"GC|RN310|G#1|RO214|GSY|GSN|", true, false, true},
		{"GC|RN310|G#1|RO214|GSY|", false, true, false},
		{"GC|RN310|GSY|G#1|RO214|", true, false, true},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r, _ := fias.ParseRecord(tc.text)
			ev, ok := fias.GuestEvent(r)
			if !ok || ev.Guest.Shared != tc.shared || ev.OldRoomShared != tc.oldShared || ev.Carried().Has(gateway.FieldShared) != tc.hasGS || ev.OldRoom != "214" {
				t.Errorf("%+v", ev)
			}
		})
	}
	r, _ := fias.ParseRecord("GO|RN215|SF|")
	if ev, _ := fias.GuestEvent(r); ev.Kind != gateway.GuestCheckOut || !ev.Resync || ev.Guest.Reservation != "" {
		t.Errorf("resync GO: %+v", ev)
	}
	// Only the FIAS swap flag marks a resync record: SF without data, in a
	// GI or GO (docs/fias.md, "Resync").
	for text, want := range map[string]bool{
		"GI|RN101|G#1|GS|SF|":    true,
		"GI|RN101|G#1|GSN|SFN|":  false,
		"GO|RN101|SFY|":          false,
		"GC|RN101|G#1|GNX|SF|":   false,
		"GI|RN101|G#1|GSN|GNX|":  false,
		"GO|RN101|G#1|GSN|SF||":  true,
		"GI|RN101|G#1|SF1|GNXY|": false,
	} {
		r, _ := fias.ParseRecord(text)
		if ev, _ := fias.GuestEvent(r); ev.Resync != want {
			t.Errorf("%s: Resync %v, want %v", text, ev.Resync, want)
		}
	}
	r, _ = fias.ParseRecord("XL|RN1|")
	if _, ok := fias.GuestEvent(r); ok {
		t.Error("XL taken as a guest event")
	}
}

// TestGuestEventFields: each FIAS guest field fills its typed field and
// says it is carried; the fields a record lacks are omitted.
func TestGuestEventFields(t *testing.T) {
	all := gateway.Guest{Room: "101", Reservation: "7", Shared: true, LastName: "Smith", FirstName: "Ann", Title: "Ms",
		Language: "EA", VIP: "2", Group: "ACME", Arrival: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		Departure: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), NoPost: true, ClassOfService: "3"}
	for _, tc := range []struct {
		text    string
		guest   gateway.Guest
		carried gateway.GuestFields
	}{
		{"GI|RN101|G#7|GSY|GNSmith|GFAnn|GTMs|GLEA|GV2|GGACME|GA261127|GD261130|NPY|CS3|DA261127|TI090000|", all, gateway.AllGuestFields},
		{"GI|RN101|G#7|DA261127|TI090000|", gateway.Guest{Room: "101", Reservation: "7"}, 0},
		{"GC|RN101|G#7|GNSmith|NPY|", gateway.Guest{Room: "101", Reservation: "7", LastName: "Smith", NoPost: true},
			gateway.FieldLastName | gateway.FieldNoPost},
		{"GC|RN101|G#7|GA|GLEA|", gateway.Guest{Room: "101", Reservation: "7", Language: "EA"}, gateway.FieldArrival | gateway.FieldLanguage},
		{"GO|RN101|G#7|GSN|", gateway.Guest{Room: "101", Reservation: "7"}, gateway.FieldShared},
		{"GI|RN101|GXfoo|", gateway.Guest{Room: "101"}, 0},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r, err := fias.ParseRecord(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			ev, ok := fias.GuestEvent(r)
			if !ok || ev.Guest != tc.guest || ev.Carried() != tc.carried || ev.Omitted != gateway.AllGuestFields&^tc.carried {
				t.Errorf("got %+v, carried %b, want %+v, carried %b", ev.Guest, ev.Carried(), tc.guest, tc.carried)
			}
		})
	}
	// A simulator's check-in writes the fields a GI carries, and they read
	// back as they were.
	var rec fias.Record
	rec.Add("RN", all.Room)
	rec.Add("G#", all.Reservation)
	rec.Add("GS", "Y")
	fias.AppendGuest(&rec, all)
	rec.Type = "GI"
	if ev, _ := fias.GuestEvent(rec); ev.Guest != all || ev.Omitted != 0 {
		t.Errorf("AppendGuest read back: %+v, omitted %b", ev.Guest, ev.Omitted)
	}
}

// TestEventsQueuedWhileDown: guest changes made while no client is
// connected arrive after the link comes up, in order.
func TestEventsQueuedWhileDown(t *testing.T) {
	s := startSim(t, sim.Options{})
	a, _ := s.CheckIn(gateway.Guest{Room: "105"})
	s.CheckOut(a)
	l := connect(t, s, nil)
	if ev := nextEvent(t, l); ev.Kind != gateway.GuestCheckIn {
		t.Errorf("%+v", ev)
	}
	if ev := nextEvent(t, l); ev.Kind != gateway.GuestCheckOut {
		t.Errorf("%+v", ev)
	}
}

// TestResync: DR only when asked; DS, a GI or GO with SF per room, a
// real-time check-in interleaved, DE; postings wait meanwhile and the
// gateway sends nothing until DE.
func TestResync(t *testing.T) {
	s := startSim(t, sim.Options{Rooms: sim.Range(101, 105)})
	s.Occupy([]string{"101", "102"})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr })
	if strings.Contains(tr.String(), "DR|") {
		t.Fatal("DR sent at start-up")
	}
	s.SetFaults(sim.Faults{ResyncDelay: 20 * time.Millisecond})
	ctx := context.Background()
	if err := l.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Resync(ctx); !gateway.IsTransient(err) {
		t.Errorf("second resync: %v", err)
	}
	if ev := nextEvent(t, l); ev.Kind != gateway.ResyncStart {
		t.Fatalf("first event %+v", ev)
	}
	if r, err := post(t, l, charge(50, "101")); r.Outcome != gateway.PostTransient || r.Sent {
		t.Errorf("post during resync: %+v %v", r, err)
	}
	s.CheckIn(gateway.Guest{Room: "105", LastName: "Walkin"})
	var resync, realtime int
	for {
		ev := nextEvent(t, l)
		if ev.Kind == gateway.ResyncEnd {
			if ev.Partial {
				t.Error("complete resync marked partial")
			}
			break
		}
		if ev.Resync {
			resync++
			if ev.Kind == gateway.GuestCheckOut && ev.Guest.Reservation != "" {
				t.Errorf("resync GO with G#: %+v", ev)
			}
		} else {
			realtime++
		}
	}
	// 101 and 102 occupied, 103–105 vacant (the snapshot predates the
	// walk-in, which comes in real time).
	if resync != 5 || realtime != 1 {
		t.Errorf("%d resync records, %d real-time", resync, realtime)
	}
	waitReady(t, l)
	if r, err := post(t, l, charge(51, "101")); r.Outcome != gateway.PostPosted {
		t.Errorf("post after resync: %+v %v", r, err)
	}
	noViolations(t, s)
}

// TestSwapFlagOutsideResync (issue 14, F1): a PMS that sends every declared
// field, SF included, in its real-time records: a check-in is a check-in,
// not a resync record, when no resync runs.
func TestSwapFlagOutsideResync(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.SetFaults(sim.Faults{FillDeclared: true})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr })
	s.CheckIn(gateway.Guest{Room: "101", LastName: "Hartley"})
	ev := nextEvent(t, l)
	if ev.Kind != gateway.GuestCheckIn || ev.Guest.Room != "101" || ev.Resync {
		t.Errorf("real-time check-in with SF: %+v", ev)
	}
	if !strings.Contains(tr.String(), "|SF|") {
		t.Errorf("the simulator sent no empty SF:\n%s", tr.String())
	}
	if st := l.Status(); st.Resync {
		t.Errorf("status %+v", st)
	}
	noViolations(t, s)
}

// TestProtel: Protel's socket server refuses a second client, pushes its
// in-house guests after LA without DS/DE, and answers DR without DS/DE.
func TestProtel(t *testing.T) {
	s := startSim(t, sim.Options{Protel: true, Rooms: sim.Range(101, 103)})
	s.Occupy([]string{"101", "102"})
	l := connect(t, s, func(o *fias.Options) { o.ResyncTimeout = 300 * time.Millisecond })
	for i := 0; i < 2; i++ {
		if ev := nextEvent(t, l); ev.Kind != gateway.GuestCheckIn || ev.Resync {
			t.Errorf("in-house push: %+v", ev)
		}
	}
	// A second client is refused; the first keeps its link.
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := c.Read(make([]byte, 16)); n != 0 {
		t.Error("the second client got data")
	}
	c.Close()
	if _, refused := s.Connections(); refused != 1 {
		t.Errorf("refused %d", refused)
	}
	if err := l.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, l); ev.Kind != gateway.ResyncStart {
		t.Fatalf("%+v", ev)
	}
	n := 0
	for ev := nextEvent(t, l); ev.Kind != gateway.ResyncEnd; ev = nextEvent(t, l) {
		n++
	}
	if n != 3 {
		t.Errorf("%d resync records", n)
	}
	// No DE came: the end is the quiet timeout, so the resync is partial.
	waitReady(t, l)
	if accepted, _ := s.Connections(); accepted != 1 || l.Status().State != gateway.LinkAlive {
		t.Errorf("accepted %d, status %+v", accepted, l.Status())
	}
	noViolations(t, s)
}

// TestNewestWins: IFC8 keeps the newest client; the gateway whose link was
// taken reconnects once the intruder is gone.
func TestNewestWins(t *testing.T) {
	s := startSim(t, sim.Options{})
	l := connect(t, s, nil)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, l, "the link taken", func(st gateway.LinkStatus) bool { return st.State != gateway.LinkAlive })
	c.Close()
	waitReady(t, l)
	if accepted, refused := s.Connections(); accepted < 3 || refused != 0 {
		t.Errorf("accepted %d refused %d", accepted, refused)
	}
}

// TestNightAudit: NS holds postings (not sent) until NE; WaitReady waits.
func TestNightAudit(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	l := connect(t, s, nil)
	nextEvent(t, l)
	s.NightAudit(true)
	if ev := nextEvent(t, l); ev.Kind != gateway.NightAuditStart {
		t.Fatalf("%+v", ev)
	}
	if !l.Status().NightAudit {
		t.Error("status does not show the night audit")
	}
	r, err := post(t, l, charge(60, "101"))
	if r.Outcome != gateway.PostTransient || r.Sent || !strings.Contains(err.Error(), "night audit") {
		t.Errorf("post in night audit: %+v %v", r, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := l.WaitReady(ctx); err == nil {
		t.Error("ready during the night audit")
	}
	cancel()
	s.NightAudit(false)
	if ev := nextEvent(t, l); ev.Kind != gateway.NightAuditEnd {
		t.Fatalf("%+v", ev)
	}
	waitReady(t, l)
	if r, err := post(t, l, charge(61, "101")); r.Outcome != gateway.PostPosted {
		t.Errorf("%+v %v", r, err)
	}
	// NA during a night audit the PMS did not announce: transient, the
	// posting not booked.
	s.SetFaults(sim.Faults{Answers: []string{"NA"}})
	if r, _ := post(t, l, charge(62, "101")); r.Outcome != gateway.PostTransient || !r.Sent {
		t.Errorf("NA: %+v", r)
	}
	if countReceived(s, "60") != 0 || len(s.Ledger()) != 1 {
		t.Errorf("ledger %+v", s.Ledger())
	}
	noViolations(t, s)
}

// TestLSMidSession: an LS from the PMS while alive (IFC8 restarted) makes
// the gateway describe the link again; postings resume.
func TestLSMidSession(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	l := connect(t, s, nil)
	if err := s.SendLS(); err != nil {
		t.Fatal(err)
	}
	waitSim(t, s, "the second LA", func() bool { return s.AliveCount() == 2 })
	waitReady(t, l)
	if r, err := post(t, l, charge(70, "101")); r.Outcome != gateway.PostPosted {
		t.Errorf("%+v %v", r, err)
	}
	if a, _ := s.Connections(); a != 1 {
		t.Errorf("reconnected (%d connections) instead of re-describing", a)
	}
	noViolations(t, s)
}

// TestLEFromPMS: the PMS ends the link; the gateway answers LE and comes
// back when the PMS is there again.
func TestLEFromPMS(t *testing.T) {
	s := startSim(t, sim.Options{})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr })
	s.SendLE()
	waitSim(t, s, "a new link", func() bool { return s.AliveCount() == 2 })
	waitReady(t, l)
	if !strings.Contains(tr.String(), "← LE|") || !strings.Contains(tr.String(), "→ LE|") {
		t.Errorf("transcript:\n%s", tr.String())
	}
	noViolations(t, s)
}

// TestAliveCheck: a quiet link is checked with LS and the PMS's LA keeps it
// up; an unanswered description takes it down.
func TestAliveCheck(t *testing.T) {
	s := startSim(t, sim.Options{})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr; o.AliveInterval = 100 * time.Millisecond })
	tr.Wait(t, "two alive checks", func(s string) bool { return strings.Count(s, "→ LS|") >= 2 })
	if l.Status().State != gateway.LinkAlive {
		t.Fatalf("alive checks: status %+v\n%s", l.Status(), tr.String())
	}
	if a, _ := s.Connections(); a != 1 {
		t.Errorf("%d connections", a)
	}
	noViolations(t, s)
}

// TestNoLA: a PMS that never answers the description: the link goes down
// with a reason naming LA and keeps trying, logging the failure once.
func TestNoLA(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.SetFaults(sim.Faults{NoLA: true})
	var logs testutil.Buffer
	o := fastOptions(t)
	o.Address = s.Addr()
	o.LinkTimeout = 100 * time.Millisecond
	o.Logger = o.Logger.Output(&logs)
	l := openLink(t, o)
	waitSim(t, s, "several tries", func() bool { a, _ := s.Connections(); return a >= 3 })
	if st := l.Status(); st.State == gateway.LinkAlive {
		t.Errorf("status %+v", st)
	}
	l.Close()
	if !strings.Contains(logs.String(), "did not answer the link description with LA") {
		t.Errorf("the reason is not logged:\n%s", logs.String())
	}
	// One outage, one cause: one warning, whatever the number of tries.
	if n := strings.Count(logs.String(), "PMS link down"); n != 1 {
		t.Errorf("link down logged %d times:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "describing the link"); n != 1 {
		t.Errorf("connected logged %d times:\n%s", n, logs.String())
	}
}

// TestLogOncePerState: a PMS that is not there gives one "down" line, not
// one per connection attempt.
func TestLogOncePerState(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var logs testutil.Buffer
	o := fastOptions(t)
	o.Address = addr
	o.Logger = o.Logger.Output(&logs)
	o.MaxBackoff = 20 * time.Millisecond
	attempts := make(chan error, 3)
	fias.OnAttempt(&o, func(err error) {
		select {
		case attempts <- err:
		default:
		}
	})
	l := openLink(t, o)
	for range cap(attempts) {
		select {
		case <-attempts:
		case <-time.After(10 * time.Second):
			t.Fatalf("fewer than %d attempts to connect: status %+v", cap(attempts), l.Status())
		}
	}
	l.Close()
	if n := strings.Count(logs.String(), "PMS link down"); n != 1 {
		t.Errorf("link down logged %d times:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the reason is not logged:\n%s", logs.String())
	}
}

// TestNotReady: a posting made before the link is alive is not sent.
func TestNotReady(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.SetFaults(sim.Faults{NoLA: true})
	o := fastOptions(t)
	o.Address = s.Addr()
	l := openLink(t, o)
	r, err := post(t, l, charge(80, "101"))
	if r.Outcome != gateway.PostTransient || r.Sent || !gateway.IsTransient(err) {
		t.Errorf("%+v %v", r, err)
	}
	if len(s.Received()) != 0 {
		t.Error("a posting reached the PMS before the link was alive")
	}
}

// TestClose: Close sends LE, waits for the PMS's, settles the posting in
// flight as in doubt and closes the channels.
func TestClose(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr; o.AnswerTimeout = time.Minute })
	s.SetFaults(sim.Faults{NoPA: 1})
	done := make(chan error, 1)
	go func() {
		r, err := post(t, l, charge(90, "101"))
		if r.Outcome != gateway.PostInDoubt {
			t.Errorf("posting in flight at Close: %+v", r)
		}
		done <- err
	}()
	waitSim(t, s, "the posting", func() bool { return len(s.Received()) == 1 })
	l.Close()
	if err := <-done; !strings.Contains(err.Error(), "stopped") {
		t.Errorf("in doubt for the wrong reason: %v", err)
	}
	if !strings.Contains(tr.String(), "→ LE|") || !strings.Contains(tr.String(), "← LE|") {
		t.Errorf("no LE exchange:\n%s", tr.String())
	}
	if st := l.Status(); st.State != gateway.LinkClosed {
		t.Errorf("status %+v", st)
	}
	for range l.GuestEvents() {
	}
	for range l.StatusChanges() {
	}
	if r, _ := post(t, l, charge(91, "101")); r.Outcome != gateway.PostTransient || r.Sent {
		t.Errorf("post after close: %+v", r)
	}
	l.Close() // idempotent
}

// TestCallerGivesUp: a caller whose ctx ends while its posting waits gets
// in doubt; the slot stays taken until the answer or the timeout, so the
// next posting waits its turn.
func TestCallerGivesUp(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	l := connect(t, s, nil)
	s.SetFaults(sim.Faults{PADelay: answerTimeout / 2})
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout/10)
	r, err := l.Post(ctx, charge(95, "101"))
	cancel()
	if r.Outcome != gateway.PostInDoubt || !r.Sent {
		t.Fatalf("%+v %v", r, err)
	}
	s.SetFaults(sim.Faults{})
	if r, err := post(t, l, charge(96, "101")); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	noViolations(t, s) // the second PS waited for the first one's PA
}

// TestPeerDescribesOnAliveCheck (issue 14, F2): a PMS that answers the
// alive check with its own LD, nine LRs and LA, and drops the session
// unless the gateway answers that LA with its own: the gateway answers,
// and postings still flow.
func TestPeerDescribesOnAliveCheck(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	s.SetFaults(sim.Faults{DescribeOnLS: true, DescribeWait: time.Second})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr; o.AliveInterval = 100 * time.Millisecond })
	waitSim(t, s, "the PMS's description answered with LA", func() bool { return s.DescriptionsAnswered() >= 2 })
	if r, err := post(t, l, charge(71, "101")); r.Outcome != gateway.PostPosted {
		t.Errorf("posting after the PMS described itself: %+v %v\n%s", r, err, tr.String())
	}
	if f := s.Faults(); f.Deaf {
		t.Error("the simulated PMS dropped the session")
	}
	if a, _ := s.Connections(); a != 1 {
		t.Errorf("%d connections", a)
	}
	noViolations(t, s)
}

// TestProbeAfterAnswerTimeout (issue 14, F2): a PMS that hangs with the
// connection open: the posting goes in doubt, and the gateway checks the
// link at once (LS) instead of at the next alive check, finds it dead and
// reconnects.
func TestProbeAfterAnswerTimeout(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr; o.LinkTimeout = 500 * time.Millisecond }) // AliveInterval: an hour
	s.SetFaults(sim.Faults{Deaf: true})
	if r, err := post(t, l, charge(72, "101")); r.Outcome != gateway.PostInDoubt {
		t.Fatalf("posting to a hung PMS: %+v %v", r, err)
	}
	tr.Wait(t, "an alive check right after the unanswered posting", func(s string) bool {
		_, after, _ := strings.Cut(s, "→ PS|")
		return strings.Contains(after, "→ LS|")
	})
	waitSim(t, s, "a new connection once the check went unanswered", func() bool { a, _ := s.Connections(); return a >= 2 })
	s.SetFaults(sim.Faults{})
	waitReady(t, l)
}

// TestLinkRecordsInSiteZone (issue 14, F3): LS, LD, LA, DR and LE carry DA/TI
// as wall clock in the site's zone (Options.Location), not the host's.
func TestLinkRecordsInSiteZone(t *testing.T) {
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	site := time.FixedZone("UTC+05:45", 5*3600+45*60)
	if _, off := at.In(time.Local).Zone(); off == 5*3600+45*60 {
		site = time.FixedZone("UTC-09:30", -(9*3600 + 30*60))
	}
	want := at.In(site).Format("DA060102|TI150405|")
	host := at.In(time.Local).Format("DA060102|TI150405|")
	s := startSim(t, sim.Options{})
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) {
		o.Transcript = &tr
		o.Now = func() time.Time { return at }
		o.Location = site
		o.AliveInterval = 100 * time.Millisecond
	})
	if err := l.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr.Wait(t, "an alive check", func(s string) bool { return strings.Contains(s, "→ LS|") })
	l.Close()
	for _, typ := range []string{"LD", "LA", "DR", "LS", "LE"} {
		if !strings.Contains(tr.String(), "→ "+typ+"|"+want) {
			t.Errorf("%s without DA/TI %s in the site's zone (the host's would be %s):\n%s", typ, want, host, tr.String())
		}
	}
}

// TestReconnectFailuresLogged (issue 14, F4): while the PMS stays away,
// failed attempts are logged rate-limited: the first as a warning, then at
// most one warning a minute (on Options.Now's clock) with its reason and
// the attempts that failed since.
func TestReconnectFailuresLogged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var logs testutil.Buffer
	o := fastOptions(t)
	o.Address = addr
	o.Now = clock
	o.Logger = o.Logger.Output(&logs)
	o.MinBackoff, o.MaxBackoff = 5*time.Millisecond, 10*time.Millisecond
	attempts := make(chan struct{}, 1000)
	fias.OnAttempt(&o, func(error) { attempts <- struct{}{} })
	l := openLink(t, o)
	for range 4 {
		select {
		case <-attempts:
		case <-time.After(10 * time.Second):
			t.Fatalf("fewer than 4 attempts: status %+v", l.Status())
		}
	}
	warnings := func() int { return strings.Count(logs.String(), `"level":"warn"`) }
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings within the first minute, want 1:\n%s", n, logs.String())
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	logs.Wait(t, "a warning a minute later, with the failures since and the reason", func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, "still down") && strings.Contains(line, `"level":"warn"`) &&
				strings.Contains(line, "connection refused") && strings.Contains(line, `"failed_attempts":`) {
				return true
			}
		}
		return false
	})
	l.Close()
}
