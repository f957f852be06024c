package store_test

import (
	"fmt"
	"testing"

	"callgate/gateway"
	"callgate/store"
)

// TestCaptureAllVerifiesAndRebuilds: records journaled with their moves in
// one commit (a replay inside the batch, a sending) are events like any
// other: the log verifies, and a rebuild from it gives the same queries.
// The commit is one: a batch of 1,000 records costs one transaction.
func TestCaptureAllVerifiesAndRebuilds(t *testing.T) {
	e := newEnv(t, store.Options{})
	var cs []gateway.Capture
	for n := 1; n <= 1000; n++ {
		c := gateway.Capture{Rec: record(n)}
		switch n % 4 {
		case 0:
			c.Moves = []gateway.Change{{To: gateway.StateNotChargeable, Reason: "not a call record"}}
		case 1:
			c.Moves = []gateway.Change{{To: gateway.StateRated, Call: call(n), Charge: charge(136)}, {To: gateway.StateQueued, Room: fmt.Sprint(400 + n%50)}}
			c.Send = n == 1
		case 2:
			c.Moves = []gateway.Change{{To: gateway.StateException, Reason: "unreadable record: bad"}}
		}
		cs = append(cs, c)
	}
	cs = append(cs, gateway.Capture{Rec: record(7)}) // a replay inside the batch
	before, _ := store.Grouped(e.j)
	got, err := e.j.CaptureAll(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := store.Grouped(e.j); after-before != 1 {
		n := after - before
		t.Errorf("%d commits for a batch, want 1", n)
	}
	if got[0].Sent == nil || got[0].Sent.Posting != 1 || !got[1000].Replay || got[1000].ID != got[6].ID {
		t.Errorf("first %+v, last %+v", got[0], got[1000])
	}
	rep := e.verify()
	snap := e.snapshot()
	if n, err := e.j.Rebuild(ctx); err != nil || uint64(n) != rep.Events {
		t.Fatalf("rebuild: %d events, %v", n, err)
	}
	e.verify()
	if after := e.snapshot(); after != snap {
		t.Errorf("queries differ after a rebuild:\n%s\n----\n%s", snap, after)
	}
}
