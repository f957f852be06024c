package store_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/store"
)

// TestMoveAll: several moves in one transaction, each its own event, as if
// Move had made them one after the other.
func TestMoveAll(t *testing.T) {
	e := newEnv(t, store.Options{})
	if en, err := e.j.MoveAll(ctx, nil); err != nil || en.ID != 0 {
		t.Fatalf("no moves: %v %v", en, err)
	}
	a := e.capture(1)
	before, _ := e.j.Info(ctx)
	s, err := e.j.MoveAll(ctx, []gateway.Move{
		{ID: a, Change: gateway.Change{To: gateway.StateRated, Call: call(1), Charge: charge(136)}},
		{ID: a, Change: gateway.Change{To: gateway.StateQueued, Room: "415", Reservation: "G77"}},
		{ID: a, Change: gateway.Change{To: gateway.StateSent}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != a || s.State != gateway.StateSent || s.Posting != 1 || s.Room != "415" || s.Reservation != "G77" ||
		s.Charge.TotalMinor != 136 || s.Sent.IsZero() || s.Call == nil || string(s.Raw.Data) != string(record(1).Data) {
		t.Errorf("sent entry: %+v", s)
	}
	after, _ := e.j.Info(ctx)
	if after.LastSeq != before.LastSeq+3 || after.Posting != 1 {
		t.Errorf("three moves made %d events, posting counter %d", after.LastSeq-before.LastSeq, after.Posting)
	}
	en, _ := e.j.Entry(ctx, a)
	var path []gateway.State
	for i, h := range en.History {
		path = append(path, h.To)
		if i > 0 && (h.From != en.History[i-1].To || h.Seq != en.History[i-1].Seq+1) {
			t.Errorf("history step %d: %+v after %+v", i, h, en.History[i-1])
		}
	}
	if !slices.Equal(path, []gateway.State{"captured", "rated", "queued", "sent"}) {
		t.Errorf("history %v", path)
	}

	// The answer to one posting and the sending of the next: two entries.
	b := e.to(2, gateway.StateQueued)
	s, err = e.j.MoveAll(ctx, []gateway.Move{
		{ID: a, Change: gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}}},
		{ID: b, Change: gateway.Change{To: gateway.StateSent}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != b || s.State != gateway.StateSent {
		t.Errorf("the last moved entry: %+v", s)
	}
	if en, _ := e.j.Entry(ctx, a); en.State != gateway.StatePosted || en.Answer == nil || en.Answer.Code != "OK" {
		t.Errorf("the first: %+v", en)
	}
	c, _ := e.j.Counts(ctx)
	if c.States[gateway.StatePosted] != 1 || c.States[gateway.StateSent] != 1 || len(c.States) != 2 {
		t.Errorf("counts %+v", c.States)
	}
	e.reopen()
	e.verify()
}

// TestMoveAllNothingOrAll: a move that fails anywhere in the batch leaves
// the journal as it was: no event, no state, no posting number.
func TestMoveAllNothingOrAll(t *testing.T) {
	e := newEnv(t, store.Options{PostingMax: 9})
	a := e.capture(1)
	b := e.to(2, gateway.StateQueued)
	rated := gateway.Move{ID: a, Change: gateway.Change{To: gateway.StateRated, Call: call(1), Charge: charge(136)}}
	queued := gateway.Move{ID: a, Change: gateway.Change{To: gateway.StateQueued, Room: "415"}}
	cases := []struct {
		name  string
		moves []gateway.Move
		kind  gateway.Kind
		text  string
	}{
		{"a step CanMove forbids in the middle", []gateway.Move{
			rated,
			{ID: a, Change: gateway.Change{To: gateway.StateSent}}, // rated → sent skips queued
			queued,
		}, gateway.KindInvalid, "entry 1: it is rated and cannot move to sent"},
		{"a step missing what it needs, last", []gateway.Move{
			rated, queued, {ID: b, Change: gateway.Change{To: gateway.StateException}},
		}, gateway.KindInvalid, "needs the reason"},
		{"a step of an unknown entry", []gateway.Move{
			{ID: b, Change: gateway.Change{To: gateway.StateSent}}, {ID: 99, Change: gateway.Change{To: gateway.StateSent}},
		}, gateway.KindNotFound, "entry 99 does not exist"},
		{"the same step twice", []gateway.Move{rated, rated}, gateway.KindInvalid, "cannot move to rated"},
		{"a state that is none", []gateway.Move{rated, {ID: a, Change: gateway.Change{To: "lost"}}}, gateway.KindInvalid, "not a journal state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.j.Info(ctx)
			counts, _ := e.j.Counts(ctx)
			en, err := e.j.MoveAll(ctx, tc.moves)
			if gateway.KindOf(err) != tc.kind || err == nil || !strings.Contains(err.Error(), tc.text) || en.ID != 0 {
				t.Fatalf("got %v (%s), entry %d; want %s naming %q", err, kindOf(err), en.ID, tc.kind, tc.text)
			}
			after, _ := e.j.Info(ctx)
			if !reflect.DeepEqual(after, before) {
				t.Errorf("journal changed: %+v, was %+v", after, before)
			}
			if c, _ := e.j.Counts(ctx); !mapsEqual(c.States, counts.States) {
				t.Errorf("counts %v, were %v", c.States, counts.States)
			}
			if en, _ := e.j.Entry(ctx, a); en.State != gateway.StateCaptured || len(en.History) != 1 {
				t.Errorf("entry %d is %s with %d history lines", a, en.State, len(en.History))
			}
			if en, _ := e.j.Entry(ctx, b); en.State != gateway.StateQueued {
				t.Errorf("entry %d is %s", b, en.State)
			}
		})
	}

	// Posting numbers run out at the second sending of the batch: the
	// number the first was given, in the same batch, is not given either.
	for n := 3; n <= 10; n++ {
		e.to(n, gateway.StateSent) // numbers 1 to 8 held
	}
	c1, c2 := e.to(11, gateway.StateRated), e.to(12, gateway.StateRated)
	before, _ := e.j.Info(ctx)
	_, err := e.j.MoveAll(ctx, []gateway.Move{
		{ID: c1, Change: gateway.Change{To: gateway.StateQueued, Room: "415"}},
		{ID: c1, Change: gateway.Change{To: gateway.StateSent}},
		{ID: c2, Change: gateway.Change{To: gateway.StateQueued, Room: "415"}},
		{ID: c2, Change: gateway.Change{To: gateway.StateSent}},
	})
	if !gateway.IsTransient(err) {
		t.Fatalf("all numbers held: %v", err)
	}
	if after, _ := e.j.Info(ctx); !reflect.DeepEqual(after, before) {
		t.Errorf("journal changed: %+v, was %+v", after, before)
	}
	if en, _ := e.j.Entry(ctx, c1); en.State != gateway.StateRated || en.Posting != 0 {
		t.Errorf("entry %d is %s with posting %d", c1, en.State, en.Posting)
	}
	// The journal goes on as before.
	e.move(a, rated.Change)
	e.reopen()
	e.verify()
}

func mapsEqual(a, b map[gateway.State]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMoveAlone: a move to sent made alone fails, changing nothing, while
// another entry is queued or sent, judged in its own transaction; with
// nothing else waiting it is made.
func TestMoveAlone(t *testing.T) {
	e := newEnv(t, store.Options{})
	chain := func(id gateway.EntryID, n int) []gateway.Move {
		return []gateway.Move{
			{ID: id, Change: gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(136)}},
			{ID: id, Change: gateway.Change{To: gateway.StateQueued, Room: "415"}},
			{ID: id, Change: gateway.Change{To: gateway.StateSent, Alone: true}},
		}
	}
	older := e.to(1, gateway.StateQueued)
	a := e.capture(2)
	before, _ := e.j.Info(ctx)
	if _, err := e.j.MoveAll(ctx, chain(a, 2)); !gateway.IsKind(err, gateway.KindTransient) || !strings.Contains(err.Error(), "1 other postings are queued and 0 sent") {
		t.Errorf("sent alone past a queued posting: %v", err)
	}
	if after, _ := e.j.Info(ctx); after.LastSeq != before.LastSeq {
		t.Error("the failed batch left events")
	}
	e.move(older, gateway.Change{To: gateway.StateSent})
	if _, err := e.j.MoveAll(ctx, chain(a, 2)); !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("sent alone beside a sent posting: %v", err)
	}
	e.move(older, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
	if s, err := e.j.MoveAll(ctx, chain(a, 2)); err != nil || s.State != gateway.StateSent {
		t.Errorf("sent alone with nothing waiting: %+v %v", s, err)
	}
	b := e.capture(3)
	if _, err := e.j.Move(ctx, b, gateway.Change{To: gateway.StateNotChargeable, Reason: "x", Alone: true}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("alone on a move that is not to sent: %v", err)
	}
	e.verify()
}
