package store_test

import (
	"slices"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

// TestPrune: retention removes closed entries and their events, leaves the
// chain verifiable and never lets an entry id or posting number come back.
func TestPrune(t *testing.T) {
	e := newEnv(t, store.Options{})
	var old []gateway.EntryID
	for n, s := range restingStates {
		old = append(old, e.to(n, s))
	}
	e.clock.Add(300 * 24 * time.Hour)
	for n, s := range restingStates {
		e.to(100+n, s)
	}
	cut := e.clock.Now().Add(-24 * time.Hour)
	info, _ := e.j.Info(ctx)
	dry, err := e.j.Prune(ctx, cut, true)
	if err != nil || dry.Entries != 5 || !dry.DryRun { // not-chargeable, posted, posted-manually, voided, imported
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if info2, _ := e.j.Info(ctx); info2.LastSeq != info.LastSeq {
		t.Error("a dry run changed the journal")
	}
	p, err := e.j.Prune(ctx, cut, false)
	if err != nil || p.Entries != dry.Entries || p.Events != dry.Events {
		t.Fatalf("prune %+v, dry run %+v: %v", p, dry, err)
	}
	for _, id := range old {
		en, err := e.j.Entry(ctx, id)
		closed := slices.Contains([]gateway.State{gateway.StateNotChargeable, gateway.StatePosted, gateway.StatePostedByHand, gateway.StateVoided, gateway.StateImported}, en.State)
		if err == nil && closed {
			t.Errorf("entry %d (%s) survived retention", id, en.State)
		}
		if err != nil && !gateway.IsKind(err, gateway.KindNotFound) {
			t.Error(err)
		}
	}
	c, _ := e.j.Counts(ctx)
	if c.Entries != int64(2*len(restingStates)-5) {
		t.Errorf("counts after prune: %+v", c)
	}
	e.verify()
	// Everything closed, the newest entries too: ids and posting numbers go on.
	e.clock.Add(48 * time.Hour)
	if _, err := e.j.Prune(ctx, e.clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	e.verify()
	in, _ := e.j.Info(ctx)
	e.reopen()
	if _, err := e.j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	id := e.to(999, gateway.StateSent)
	en, _ := e.j.Entry(ctx, id)
	if uint64(id) != in.Entries+1 || en.Posting != in.Posting+1 {
		t.Errorf("after pruning the newest: entry %d posting %d, want %d and %d", id, en.Posting, in.Entries+1, in.Posting+1)
	}
	e.verify()
	log, _ := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	var runs int
	for _, ev := range log {
		if ev.Kind == gateway.EventPruned {
			runs++
		}
	}
	if runs != 2 {
		t.Errorf("%d pruned events in the audit log, want 2", runs)
	}
	// Tidy applies a configured retention.
	e.j.Close()
	e.opt.RetentionMonths = 1
	e.open()
	e.move(id, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
	e.clock.Add(40 * 24 * time.Hour)
	td, err := e.j.Tidy(ctx)
	if err != nil || td.Pruned.Entries != 1 {
		t.Errorf("tidy with retention: %+v %v", td, err)
	}
	e.verify()
}

// TestPrunedBefore: the pruned run just before an event names its first
// event and the hash of its last, as the events had it before retention
// removed them; an event after a held one has none.
func TestPrunedBefore(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 3 {
		e.to(n, gateway.StatePosted)
	}
	e.clock.Add(300 * 24 * time.Hour)
	e.to(10, gateway.StatePosted)
	before, err := e.j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.j.Prune(ctx, e.clock.Now().Add(-24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	held, err := e.j.Events(ctx, gateway.EventFilter{})
	if err != nil || len(held) == 0 || held[0].Seq < 2 {
		t.Fatalf("after prune the journal begins at %v: %v", held, err)
	}
	k := held[0].Seq - 1
	first, h, ok, err := e.j.PrunedBefore(ctx, held[0].Seq)
	if err != nil || !ok || first != 1 || h != before[k-1].Hash {
		t.Errorf("PrunedBefore(%d) = %d %x %v %v, want 1 and event %d's hash", held[0].Seq, first, h, ok, err, k)
	}
	if _, _, ok, err := e.j.PrunedBefore(ctx, held[1].Seq); ok || err != nil {
		t.Errorf("PrunedBefore(%d) after a held event: %v %v", held[1].Seq, ok, err)
	}
}
