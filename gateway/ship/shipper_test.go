package ship

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// shipEnv is a fake journal, a central double over loopback TLS, and a
// shipper between them with short waits.
type shipEnv struct {
	t   *testing.T
	j   *gatewaytest.Journal
	d   *double
	c   *Client
	s   *Shipper
	ctx context.Context
	n   int
	// stop ends the shipper and waits for Run to return.
	stop func()
}

func newShipEnv(t *testing.T, mod func(*Shipper)) *shipEnv {
	t.Helper()
	e := &shipEnv{t: t, j: gatewaytest.NewJournal(gatewaytest.JournalOptions{}), d: newDouble(t), ctx: context.Background()}
	_, e.c = tlsDouble(t, e.d, 2*time.Second)
	e.start(mod)
	return e
}

// start runs a new shipper on the journal (a restart of serve).
func (e *shipEnv) start(mod func(*Shipper)) {
	e.s = &Shipper{Sink: e.c, Journal: e.j, Queries: e.j, BatchMax: 50, Poll: 5 * time.Millisecond, CursorEvery: time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond,
		Site: func() gateway.SiteSnapshot { return gateway.SiteSnapshot{Name: "Grand Hotel", Link: gateway.LinkAlive} }}
	if mod != nil {
		mod(e.s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	var once sync.Once
	e.stop = func() { once.Do(func() { stop(e.t, cancel, done) }) }
	e.t.Cleanup(e.stop)
}

func stop(t *testing.T, cancel func(), done chan error) {
	{
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the shipper did not stop")
		}
	}
}

// capture journals n raw records (each one captured event).
func (e *shipEnv) capture(n int) {
	e.t.Helper()
	for range n {
		e.n++
		if _, err := e.j.Capture(e.ctx, gateway.RawRecord{Data: []byte(fmt.Sprintf("N 101 0049301234%04d 00:01:00", e.n))}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// waitFor polls cond for up to 20 s.
func (e *shipEnv) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s; shipper %+v", what, e.s.Status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *shipEnv) all() []gateway.Event {
	evs, err := e.j.Events(e.ctx, gateway.EventFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *shipEnv) epoch() string {
	in, _ := e.j.Info(e.ctx)
	return in.Epoch
}

// caughtUp waits until the central and the persisted cursor hold every
// journaled event, then checks each is held once, in order.
func (e *shipEnv) caughtUp() {
	e.t.Helper()
	evs := e.all()
	last := uint64(len(evs))
	e.waitFor(fmt.Sprintf("the central holds %d events", last), func() bool {
		c, _ := e.j.ShipCursor(e.ctx)
		return e.d.cursor(e.epoch()) == last && c.Cursor == last
	})
	e.d.holds(e.t, e.epoch(), evs)
}

// TestShipperWANDown: while the central is away (500s, cut connections,
// answers too slow) the journal goes on taking events; when it is back the
// shipper catches up, every event once and in order, and the status shows
// the error, then the success and no lag.
func TestShipperWANDown(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	faults := []string{"500", "cut", "slow"}
	e := newShipEnv(t, nil)
	e.d.fault = func(n int, b gateway.ShipBatch) string {
		if down.Load() {
			return faults[n%len(faults)]
		}
		return ""
	}
	e.c.hc.Timeout = time.Second // "slow" answers after it
	e.capture(120)
	e.waitFor("the shipper reports the central away", func() bool {
		st := e.s.Status()
		return st.LastError != "" && st.LagEvents() == 120 && !st.Oldest.IsZero()
	})
	e.waitFor("several tries failed", func() bool { e.d.mu.Lock(); defer e.d.mu.Unlock(); return e.d.posts >= 6 })
	e.capture(80) // postings go on at the property
	if e.d.cursor(e.epoch()) != 0 {
		t.Fatal("the central stored a batch while it was down")
	}
	down.Store(false)
	e.caughtUp()
	st := e.s.Status()
	if st.LastError != "" || st.LastSuccess.IsZero() || st.LagEvents() != 0 || st.Events != 200 || st.Batches < 4 || st.Cursor != 200 {
		t.Fatalf("status after catching up: %+v", st)
	}
	e.d.noToken(t, fmt.Sprint(st))
	// New events ship as they come.
	e.capture(3)
	e.caughtUp()
	e.d.mu.Lock()
	site := e.d.sites[len(e.d.sites)-1]
	e.d.mu.Unlock()
	if site.Name != "Grand Hotel" || site.At.IsZero() || site.Head != 203 {
		t.Errorf("site snapshot %+v (want the journal's last event, 203, as Head)", site)
	}
}

// TestShipperGap: a central that holds less than the property's cursor
// (restored from an older backup) answers 409 with its cursor; the shipper
// resends from there.
func TestShipperGap(t *testing.T) {
	e := newShipEnv(t, nil)
	e.capture(30)
	e.caughtUp()
	e.stop()
	// The central loses events 21 to 30.
	e.d.mu.Lock()
	e.d.events[e.epoch()] = e.d.events[e.epoch()][:20]
	e.d.applied = 20
	e.d.mu.Unlock()
	e.capture(10)
	e.start(nil)
	e.caughtUp()
	if st := e.s.Status(); st.Cursor != 40 {
		t.Fatalf("status %+v", st)
	}
}

// TestShipperHalves: a central refusing batches as too large (413) gets
// them halved until it takes them; the batch grows back after.
func TestShipperHalves(t *testing.T) {
	var refused atomic.Int32
	e := newShipEnv(t, func(s *Shipper) { s.Poll = time.Hour }) // woken only by Wake below
	e.d.fault = func(n int, b gateway.ShipBatch) string {
		if len(b.Events) > 7 {
			refused.Add(1)
			return "413"
		}
		return ""
	}
	e.capture(100)
	e.stop()
	e.start(func(s *Shipper) { s.BatchMax = 50 })
	e.caughtUp()
	// 50 → 25 → 12 → 6 at least three refusals; then growing back to 12
	// is refused again and halved: every batch stored is at most 7.
	if refused.Load() < 3 {
		t.Fatalf("%d refusals", refused.Load())
	}
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	if e.d.batches < 100/7 {
		t.Fatalf("%d batches for 100 events of at most 7", e.d.batches)
	}
}

// TestShipperBatchBytes: a batch stops at about BatchBytes of bodies.
func TestShipperBatchBytes(t *testing.T) {
	var most atomic.Int64
	e := newShipEnv(t, func(s *Shipper) { s.BatchBytes = 1000 })
	e.d.fault = func(n int, b gateway.ShipBatch) string {
		size := 0
		for _, ev := range b.Events {
			size += len(ev.Body)
		}
		if int64(size) > most.Load() {
			most.Store(int64(size))
		}
		return ""
	}
	e.capture(60)
	e.caughtUp()
	if most.Load() > 1000 || most.Load() == 0 {
		t.Fatalf("largest batch %d bytes of bodies", most.Load())
	}
}

// TestShipperResumes: the cursor persists; a shipper restarted after the
// central acknowledged batches whose cursor was not yet written (a kill
// between the two) resends them, and the central skips the overlap: no
// loss, no duplicate. A stop keeps the last cursor: nothing is resent.
func TestShipperResumes(t *testing.T) {
	e := newShipEnv(t, nil)
	e.capture(40)
	e.caughtUp()
	e.stop()
	// The journal takes no cursor for a while, as if the process died
	// before writing it.
	var noCursor atomic.Bool
	noCursor.Store(true)
	e.j.Fail = func(op string) error {
		if op == "ship" && noCursor.Load() {
			return gateway.Errorf(gateway.KindInternal, "disk gone")
		}
		return nil
	}
	e.capture(40)
	e.start(nil)
	e.waitFor("the central holds 80 events", func() bool { return e.d.cursor(e.epoch()) == 80 })
	e.stop()
	if c, _ := e.j.ShipCursor(e.ctx); c.Cursor != 40 {
		t.Fatalf("the cursor kept is %d, want the 40 before the failures", c.Cursor)
	}
	noCursor.Store(false)
	// Restarted from 40 with batches of 10: the central answers its
	// cursor 80 to the first, and the shipper goes on from there.
	e.start(func(s *Shipper) { s.BatchMax = 10 })
	e.caughtUp()
	e.d.mu.Lock()
	overlap := e.d.overlap
	e.d.mu.Unlock()
	if overlap != 10 {
		t.Fatalf("%d events resent, want the one batch of 10 from the kept cursor", overlap)
	}
	e.stop()
	e.capture(5)
	e.start(func(s *Shipper) { s.CursorEvery = time.Hour }) // kept only when it stops
	e.waitFor("the central holds 85 events", func() bool { return e.d.cursor(e.epoch()) == 85 })
	e.capture(3) // a second batch within the hour: no cursor is kept yet
	e.waitFor("the shipper has the central's answer for 88", func() bool { return e.s.Status().Cursor == 88 })
	if c, _ := e.j.ShipCursor(e.ctx); c.Cursor != 80 {
		t.Fatalf("the cursor kept while shipping is %d, want 80 (the one before the start)", c.Cursor)
	}
	e.stop()
	if c, _ := e.j.ShipCursor(e.ctx); c.Cursor != 88 {
		t.Fatalf("the cursor kept at stop is %d, want 88", c.Cursor)
	}
	e.start(nil)
	e.capture(1)
	e.caughtUp()
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	if e.d.overlap != overlap {
		t.Fatalf("a restart resent %d acknowledged events", e.d.overlap-overlap)
	}
}

// TestShipperGuestNames: names go only with GuestNames set, and only for
// the stays the batch names.
func TestShipperGuestNames(t *testing.T) {
	for _, names := range []bool{false, true} {
		t.Run(fmt.Sprint(names), func(t *testing.T) {
			e := newShipEnv(t, func(s *Shipper) { s.GuestNames = names })
			for _, g := range []gateway.Guest{{Room: "101", Reservation: "77", LastName: "Muster", FirstName: "Max"}, {Room: "102", Reservation: "78", LastName: "Other"}} {
				if _, err := e.j.ApplyGuest(e.ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: g}); err != nil {
					t.Fatal(err)
				}
				e.caughtUp() // one batch each
			}
			e.d.mu.Lock()
			defer e.d.mu.Unlock()
			for _, b := range e.d.events[e.epoch()] {
				if strings.Contains(string(b.Body), "Muster") {
					t.Fatal("an event carries a guest's name")
				}
			}
			switch {
			case !names && len(e.d.guests) != 0:
				t.Fatalf("names shipped without ship_guest_names: %+v", e.d.guests)
			case names && (len(e.d.guests) != 2 || e.d.guests[0] != gateway.ShipGuestName{Room: "101", Reservation: "77", LastName: "Muster", FirstName: "Max"} || e.d.guests[1].LastName != "Other"):
				t.Fatalf("names shipped %+v", e.d.guests)
			}
		})
	}
}

// TestShipperChainStops: a central refusing the hash chain (422) stops
// the epoch's shipping for a person, with a sentence saying so.
func TestShipperChainStops(t *testing.T) {
	e := newShipEnv(t, nil)
	e.d.fault = func(int, gateway.ShipBatch) string { return "422" }
	e.capture(5)
	e.waitFor("shipping stops", func() bool { return e.s.Status().Stopped })
	if st := e.s.Status(); !strings.Contains(st.LastError, "gateway journal verify") || st.Cursor != 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestShipperNewEpoch: a replaced journal (a new epoch) ships from event 1
// as its own stream beside the old one.
func TestShipperNewEpoch(t *testing.T) {
	e := newShipEnv(t, nil)
	e.capture(12)
	e.caughtUp()
	old, oldEvents := e.epoch(), e.all()
	e.stop()
	e.j = gatewaytest.NewJournal(gatewaytest.JournalOptions{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if e.epoch() == old {
		t.Fatal("the new journal has the old epoch")
	}
	e.d.mu.Lock()
	e.d.applied = 0
	e.d.mu.Unlock()
	e.capture(7)
	e.start(nil)
	e.caughtUp()
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	if len(e.d.events[old]) != len(oldEvents) {
		t.Fatal("the old epoch changed at the central")
	}
}

// TestShipperProbe: an idle shipper asks the central's cursor, so the
// status shows a central that went away while nothing was to ship, and
// learns a cursor the central holds beyond its own.
func TestShipperProbe(t *testing.T) {
	e := newShipEnv(t, func(s *Shipper) { s.IdleProbe = 10 * time.Millisecond })
	e.capture(4)
	e.caughtUp()
	e.waitFor("the idle shipper probes", func() bool { e.d.mu.Lock(); defer e.d.mu.Unlock(); return e.d.cursorGets >= 2 })
	// Each answer is a success: "last success" follows the probes, not the
	// time the cursor last moved (a quiet night is no alarm).
	first := e.s.Status().LastSuccess
	e.waitFor("more probes", func() bool { e.d.mu.Lock(); defer e.d.mu.Unlock(); return e.d.cursorGets >= 5 })
	e.waitFor("last success follows the probes", func() bool { return e.s.Status().LastSuccess.After(first) })
	e.d.mu.Lock()
	e.d.token = "rotated" // the central no longer knows the property
	e.d.mu.Unlock()
	e.waitFor("the probe's refusal shows", func() bool { return strings.Contains(e.s.Status().LastError, "token") })
}

// TestJitter: a back-off's wait is drawn between half and the whole step,
// and the draws differ.
func TestJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		d := jitter(10 * time.Second)
		if d < 5*time.Second || d > 10*time.Second {
			t.Fatalf("jitter(10s) = %v", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct waits in 200", len(seen))
	}
	if jitter(0) != 0 {
		t.Fatal("jitter(0)")
	}
}

// prunedCopy is the journal as a restored epoch following another sees
// it: events 1..k removed by retention (their run and the hash of event k
// recorded), the rest held.
type prunedCopy struct {
	*gatewaytest.Journal
	k uint64
}

func (p prunedCopy) Info(ctx context.Context) (gateway.JournalInfo, error) {
	in, err := p.Journal.Info(ctx)
	in.Follows, in.FollowsEntry, in.FollowsSeq = "epoch-of-the-old-file", p.k, p.k
	in.Ancestry = []gateway.EpochAncestor{{Epoch: in.Follows, Entry: p.k, Seq: p.k}}
	return in, err
}

func (p prunedCopy) Events(ctx context.Context, f gateway.EventFilter) ([]gateway.Event, error) {
	f.Since = max(f.Since, p.k)
	return p.Journal.Events(ctx, f)
}

func (p prunedCopy) PrunedBefore(ctx context.Context, seq uint64) (uint64, [32]byte, bool, error) {
	if seq != p.k+1 {
		return 0, [32]byte{}, false, nil
	}
	evs, err := p.Journal.Events(ctx, gateway.EventFilter{Since: p.k - 1, Limit: 1})
	if err != nil || len(evs) != 1 {
		return 0, [32]byte{}, false, err
	}
	return 1, evs[0].Hash, true, nil
}

// TestShipperAfterPrunedRun: an epoch that follows another ships from the
// first event it holds, chained from the hash of the last event retention
// removed; a central that answers with its cursor before that run (it
// lacks the event in the epochs this one follows) gets a sentence naming
// the event, not the same batch again and again.
func TestShipperAfterPrunedRun(t *testing.T) {
	var first, from atomic.Uint64
	var prev atomic.Value
	e := newShipEnv(t, nil)
	e.stop()
	e.capture(10)
	pc := prunedCopy{Journal: e.j, k: 4}
	e.d.fault = func(n int, b gateway.ShipBatch) string {
		first.Store(b.Events[0].Seq)
		from.Store(b.PrunedFrom)
		prev.Store(b.PrevHash)
		return ""
	}
	e.start(func(s *Shipper) { s.Queries = pc })
	e.waitFor("the shipper's sentence", func() bool {
		return strings.Contains(e.s.Status().LastError, "which retention removed from the journal")
	})
	all := e.all()
	if first.Load() != 5 || prev.Load() != all[3].Hash || from.Load() != 1 {
		t.Errorf("the batch began at event %d after hash %x, pruned from %d; want event 5 after event 4's, pruned from 1", first.Load(), prev.Load(), from.Load())
	}
	if st := e.s.Status(); !strings.Contains(st.LastError, "event 4") || st.Batches != 0 {
		t.Errorf("status: %+v", st)
	}
}
