package store_test

import (
	"fmt"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

// TestPruneGuard: with a central configured, retention removes only
// entries whose events the central acknowledged, and says how many wait.
func TestPruneGuard(t *testing.T) {
	e := newEnv(t, store.Options{CentralGuard: true})
	for n, s := range restingStates {
		e.to(n, s)
	}
	mid, _ := e.j.Info(ctx)
	for n, s := range restingStates {
		e.to(100+n, s)
	}
	e.clock.Add(300 * 24 * time.Hour)
	cut := e.clock.Now().Add(-24 * time.Hour)

	// Nothing acknowledged: nothing goes, and every closed entry is held.
	dry, err := e.j.Prune(ctx, cut, true)
	if err != nil || dry.Entries != 0 || !dry.Held || dry.ShipCursor != 0 || dry.HeldEntries != 10 || dry.HeldEvents == 0 {
		t.Fatalf("dry run with nothing shipped: %+v %v", dry, err)
	}
	p, err := e.j.Prune(ctx, cut, false)
	if err != nil || p.Entries != 0 || p.HeldEntries != 10 || p.HeldEvents != dry.HeldEvents {
		t.Fatalf("prune with nothing shipped: %+v %v", p, err)
	}

	// The first half acknowledged, its last event at the cursor: that
	// event is kept (the next batch chains from its hash), so its entry
	// stays.
	if err := e.j.SetShipCursor(ctx, gateway.ShipAck{Epoch: mid.Epoch, Cursor: mid.LastSeq}); err != nil {
		t.Fatal(err)
	}
	p, err = e.j.Prune(ctx, cut, false)
	if err != nil || p.Entries != 4 || p.ShipCursor != mid.LastSeq || p.HeldEntries != 6 {
		t.Fatalf("prune with half shipped: %+v %v", p, err)
	}
	if evs, _ := e.j.Events(ctx, gateway.EventFilter{Since: mid.LastSeq - 1, Limit: 1}); len(evs) != 1 || evs[0].Seq != mid.LastSeq {
		t.Fatalf("the event at the central's cursor was pruned: %+v", evs)
	}
	// One more acknowledged: the first half's last entry goes too.
	if err := e.j.SetShipCursor(ctx, gateway.ShipAck{Epoch: mid.Epoch, Cursor: mid.LastSeq + 1}); err != nil {
		t.Fatal(err)
	}
	if p, err = e.j.Prune(ctx, cut, false); err != nil || p.Entries != 1 || p.HeldEntries != 5 {
		t.Fatalf("prune with half and one shipped: %+v %v", p, err)
	}
	evs, _ := e.j.Events(ctx, gateway.EventFilter{Since: mid.LastSeq})
	for i, ev := range evs {
		if ev.Seq != mid.LastSeq+uint64(i)+1 {
			t.Fatalf("an event above the central's cursor was removed: %d follows %d", ev.Seq, mid.LastSeq+uint64(i))
		}
	}
	e.verify()

	// Without the guard (no central), everything closed goes.
	e.opt.CentralGuard = false
	e.reopen()
	if p, err = e.j.Prune(ctx, cut, false); err != nil || p.Entries != 5 || p.Held {
		t.Fatalf("prune without a central: %+v %v", p, err)
	}
}

// TestShipCursorSurvives: the cursor is kept across a reopen and a
// rebuild (it is not a projection).
func TestShipCursorSurvives(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.to(1, gateway.StatePosted)
	in, _ := e.j.Info(ctx)
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	if err := e.j.SetShipCursor(ctx, gateway.ShipAck{Epoch: in.Epoch, Cursor: in.LastSeq, At: at}); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if _, err := e.j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := e.j.ShipCursor(ctx)
	if err != nil || c.Cursor != in.LastSeq || !c.At.Equal(at) || c.Epoch != in.Epoch {
		t.Fatalf("cursor after reopen and rebuild: %+v %v", c, err)
	}
	e.verify()
}

// TestShipReadsTakeNoWriterLock: what the shipper reads (Info, Events,
// ShipCursor) runs while a writer holds bbolt's writer lock: read-only
// transactions, never waiting for a commit.
func TestShipReadsTakeNoWriterLock(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 5 {
		e.to(n, gateway.StatePosted)
	}
	release, err := store.HoldWriter(e.j)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	done := make(chan error, 1)
	go func() {
		if _, err := e.j.Info(ctx); err != nil {
			done <- err
			return
		}
		evs, err := e.j.Events(ctx, gateway.EventFilter{Since: 2, Limit: 10})
		if err == nil && (len(evs) == 0 || len(evs[0].Body) == 0) {
			err = fmt.Errorf("events %d, first body %q", len(evs), evs[0].Body)
		}
		if err == nil {
			_, err = e.j.ShipCursor(ctx)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shipper's reads waited for the writer")
	}
}

// BenchmarkShipIdlePoll is the idle shipper's look for new events (one
// Info, a read-only transaction), four times a second.
func BenchmarkShipIdlePoll(b *testing.B) {
	e := newEnv(b, store.Options{})
	e.to(1, gateway.StatePosted)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.j.Info(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShipRead reads a batch of 5,000 events with their bodies, as
// the shipper does.
func BenchmarkShipRead(b *testing.B) {
	e := newEnv(b, store.Options{})
	for n := range 1000 {
		e.to(n, gateway.StatePosted) // 5+ events each
	}
	b.ReportAllocs()
	for b.Loop() {
		evs, err := e.j.Events(ctx, gateway.EventFilter{Limit: 5000})
		if err != nil || len(evs) != 5000 {
			b.Fatal(len(evs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/event")
}
