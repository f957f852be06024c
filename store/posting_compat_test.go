package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"callgate/gateway"
)

// TestPostingNumbersOfAnOlderJournal: a journal written when numbers were
// given at the move to queued (and on the queued event after a repost)
// reads and rebuilds as it was: a queued posting holding a number keeps it
// when sent, and the new rule goes on from its counter (docs/journal.md
// "Posting numbers").
func TestPostingNumbersOfAnOlderJournal(t *testing.T) {
	ctx := context.Background()
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	call := &gateway.Call{Format: "test", Extension: "415", Dialed: "6175550134", Start: start, StartUTC: start,
		DurationS: 95, Direction: gateway.Outgoing, Answered: gateway.Bool(true)}
	charge := &gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 136, Currency: "USD"}
	c, err := j.Capture(ctx, gateway.RawRecord{Data: []byte("a call"), Received: start})
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID
	move := func(ch gateway.Change) gateway.Entry {
		t.Helper()
		en, err := j.Move(ctx, id, ch)
		if err != nil {
			t.Fatal(err)
		}
		return en
	}
	// An event as the older journal wrote it, appended as it was.
	old := func(from, to gateway.State, posting uint32) {
		t.Helper()
		err := j.write(ctx, "append an older event", func(w *txw) error {
			return w.append(&event{kind: gateway.EventMoved, entry: uint64(id), at: j.now(), from: from, to: to, room: "415", posting: posting})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	move(gateway.Change{To: gateway.StateRated, Call: call, Charge: charge})
	old(gateway.StateRated, gateway.StateQueued, 1)
	if en := move(gateway.Change{To: gateway.StateSent}); en.Posting != 1 {
		t.Fatalf("an older queued posting sent as %d, want its 1", en.Posting)
	}
	move(gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"})
	move(gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "not on the folio"})
	// A repost now queues without a number; the sending gives the next.
	en, _ := j.Entry(ctx, id)
	if en.State != gateway.StateQueued || en.Posting != 0 {
		t.Fatalf("reposted now: %s #%d, want queued without a number", en.State, en.Posting)
	}
	if en := move(gateway.Change{To: gateway.StateSent}); en.Posting != 2 {
		t.Errorf("sent after the repost as %d, want 2", en.Posting)
	}
	move(gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"})
	move(gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "again"})
	// The queued event an older journal wrote after a repost carried the
	// new number (appended here after this repost's own queued event): the
	// entry holds it, before a rebuild and after.
	old(gateway.StateReposted, gateway.StateQueued, 3)
	before, _ := j.Entry(ctx, id)
	if _, err := j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := j.Entry(ctx, id)
	if before.Posting != 3 || after.Posting != 3 || after.State != gateway.StateQueued {
		t.Errorf("an older repost's number: %d before the rebuild, %s #%d after, want 3", before.Posting, after.State, after.Posting)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify: %v %v", rep.Problems, err)
	}
	if en := move(gateway.Change{To: gateway.StateSent}); en.Posting != 3 {
		t.Errorf("sent as %d, want the 3 it holds", en.Posting)
	}
}
