package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

func TestLifecycle(t *testing.T) {
	e := newEnv(t, store.Options{})
	id := e.capture(1)
	if id != 1 {
		t.Fatalf("first entry id %d", id)
	}
	en, err := e.j.Entry(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if en.State != gateway.StateCaptured || string(en.Raw.Data) != string(record(1).Data) || !en.Raw.Received.Equal(record(1).Received) ||
		en.Raw.Source != "serial /dev/ttyUSB0" || en.Call != nil || len(en.History) != 1 {
		t.Fatalf("captured entry: %+v", en)
	}
	e.move(id, gateway.Change{To: gateway.StateRated, Call: call(1), Charge: charge(136)})
	en = e.move(id, gateway.Change{To: gateway.StateQueued, Room: "415", Reservation: "G77"})
	if en.Posting != 0 || en.Room != "415" || en.Reservation != "G77" || en.Charge.TotalMinor != 136 || en.Call.Extension != "401" {
		t.Fatalf("queued entry: %+v", en)
	}
	if string(en.Call.Raw) != string(record(1).Data) || !en.Time.Equal(call(1).StartUTC) {
		t.Errorf("call raw %q, time %v", en.Call.Raw, en.Time)
	}
	en = e.move(id, gateway.Change{To: gateway.StateSent})
	if en.Sent.IsZero() || en.Posting != 1 {
		t.Errorf("sent entry: time %v, posting %d (given with the sending)", en.Sent, en.Posting)
	}
	e.move(id, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK", Text: "posted"}})
	en, _ = e.j.Entry(ctx, id)
	if en.Answer == nil || en.Answer.Code != "OK" || en.Answer.Text != "posted" || en.Answer.Time.IsZero() {
		t.Errorf("answer %+v", en.Answer)
	}
	var path []gateway.State
	for _, h := range en.History {
		path = append(path, h.To)
	}
	want := []gateway.State{"captured", "rated", "queued", "sent", "posted"}
	if !slices.Equal(path, want) || en.History[0].From != "" || en.History[4].From != gateway.StateSent {
		t.Errorf("history %v, want %v", path, want)
	}
	// What the engine posts from (its PostRequest) and what it answered.
	if en.Posting != 1 || en.Charge.TotalMinor != 136 || en.Charge.Currency != "USD" || en.Room != "415" || en.Answer.Code != "OK" {
		t.Errorf("posted entry %+v", en)
	}
	// The JSON form `gateway journal` prints.
	b, err := json.Marshal(en)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "state", "raw", "call", "charge", "room", "posting", "answer", "history"} {
		if _, ok := m[k]; !ok {
			t.Errorf("entry JSON has no %q: %s", k, b)
		}
	}
	if m["state"] != "posted" || m["posting"] != 1.0 || len(m["history"].([]any)) != 5 {
		t.Errorf("entry JSON: %s", b)
	}
	c, _ := e.j.Counts(ctx)
	if c.Entries != 1 || c.States[gateway.StatePosted] != 1 || len(c.States) != 1 {
		t.Errorf("counts %+v", c)
	}
	if _, err := e.j.Entry(ctx, 99); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("unknown entry: %v", err)
	}
	if _, err := e.j.Capture(ctx, gateway.RawRecord{}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("empty record: %v", err)
	}
}

// TestRawBytesKept: a record that is not UTF-8 (a PBX printing code page
// 437) comes back byte for byte.
func TestRawBytesKept(t *testing.T) {
	e := newEnv(t, store.Options{})
	raw := []byte("Zimmer 4\x81\x94 \xff\x00end")
	c, err := e.j.Capture(ctx, gateway.RawRecord{Data: raw, Truncated: true, Cut: true})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen()
	en, err := e.j.Entry(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(en.Raw.Data) != string(raw) || !en.Raw.Truncated || !en.Raw.Cut || en.Raw.Received.IsZero() {
		t.Errorf("raw %q truncated %v cut %v", en.Raw.Data, en.Raw.Truncated, en.Raw.Cut)
	}
	b, _ := json.Marshal(en)
	if !strings.Contains(string(b), `"raw_base64":`) {
		t.Errorf("non-UTF-8 raw not in base64: %s", b)
	}
	e.verify()
}

// TestSequenceAcrossReopen: sequence numbers strictly increase with no gaps,
// and entry ids too, across restarts; the epoch stays.
func TestSequenceAcrossReopen(t *testing.T) {
	e := newEnv(t, store.Options{})
	info, _ := e.j.Info(ctx)
	if len(info.Epoch) != 36 || info.Schema != 4 || info.LastSeq != 0 {
		t.Fatalf("new journal: %+v", info)
	}
	var ids []gateway.EntryID
	for round := range 4 {
		for i := range 5 {
			n := round*5 + i
			ids = append(ids, e.to(n, gateway.StatePosted))
		}
		e.reopen()
	}
	info2, _ := e.j.Info(ctx)
	if info2.Epoch != info.Epoch {
		t.Errorf("epoch changed: %s → %s", info.Epoch, info2.Epoch)
	}
	for i, id := range ids {
		if id != gateway.EntryID(i+1) {
			t.Fatalf("entry ids %v have a gap", ids)
		}
	}
	evs, err := e.j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(evs)) != info2.LastSeq || len(evs) != 20*5 {
		t.Fatalf("%d events, last seq %d", len(evs), info2.LastSeq)
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i+1, ev.Seq)
		}
		if i > 0 && ev.Hash == evs[i-1].Hash {
			t.Fatal("two events with one hash")
		}
	}
	if info2.Posting != 20 {
		t.Errorf("posting counter %d after 20 postings", info2.Posting)
	}
	// Since and Limit page through the log.
	page, _ := e.j.Events(ctx, gateway.EventFilter{Since: 10, Limit: 3})
	if len(page) != 3 || page[0].Seq != 11 {
		t.Errorf("page %+v", page)
	}
	own, _ := e.j.Events(ctx, gateway.EventFilter{Entry: 3})
	if len(own) != 5 || own[0].Kind != gateway.EventCaptured || own[4].To != gateway.StatePosted {
		t.Errorf("entry 3's events: %+v", own)
	}
	e.verify()
}

// pathTo lists the states with an entry resting in them; reposted and
// transferred pass on to queued in the same transaction.
var restingStates = []gateway.State{
	gateway.StateCaptured, gateway.StateRated, gateway.StateNotChargeable, gateway.StateException,
	gateway.StateQueued, gateway.StateSent, gateway.StatePosted, gateway.StateRefused, gateway.StateInDoubt,
	gateway.StateResolving, gateway.StatePostedByHand, gateway.StateVoided, gateway.StateImported,
}

// fullChange is a change to s carrying everything any move may need.
func fullChange(n int, from, to gateway.State) gateway.Change {
	c := gateway.Change{To: to, Reason: "test", Room: "415"}
	if from == gateway.StateCaptured {
		c.Call, c.Charge = call(n), charge(136)
	}
	if from.NeedsPerson() || to == gateway.StatePostedByHand || to == gateway.StateReposted || to == gateway.StateTransferred || to == gateway.StateVoided {
		c.Actor = "night"
		c.Charge = charge(150)
	}
	if from == gateway.StateSent {
		c.Answer = &gateway.Answer{Code: "OK"}
	}
	if from != gateway.StateCaptured && from != gateway.StateRated && c.Actor == "" {
		c.Room = ""
	}
	return c
}

// TestStateMachine tries every move from every resting state: exactly the
// moves of docs/journal.md (gateway.CanMove) succeed; every other returns an error
// of kind invalid and changes nothing, not even the log.
func TestStateMachine(t *testing.T) {
	e := newEnv(t, store.Options{})
	n := 0
	for _, from := range restingStates {
		n++
		id := e.to(n, from) // refused moves leave it as it is, so it serves them all
		for _, to := range gateway.States {
			if gateway.CanMove(from, to) {
				n++
				id := e.to(n, from)
				after, err := e.j.Move(ctx, id, fullChange(n, from, to))
				if err != nil {
					t.Errorf("%s → %s: %v", from, to, err)
					continue
				}
				want := to
				if to == gateway.StateReposted || to == gateway.StateTransferred {
					want = gateway.StateQueued
				}
				if after.State != want {
					t.Errorf("%s → %s: entry is %s", from, to, after.State)
				}
				continue
			}
			before, _ := e.j.Entry(ctx, id)
			info, _ := e.j.Info(ctx)
			_, err := e.j.Move(ctx, id, fullChange(n, from, to))
			if !gateway.IsKind(err, gateway.KindInvalid) {
				t.Errorf("%s → %s: err %v (kind %s), want kind invalid", from, to, err, kindOf(err))
				continue
			}
			now, _ := e.j.Entry(ctx, id)
			info2, _ := e.j.Info(ctx)
			b1, _ := json.Marshal(before)
			b2, _ := json.Marshal(now)
			if string(b1) != string(b2) || info2.LastSeq != info.LastSeq {
				t.Errorf("%s → %s refused but changed the journal", from, to)
			}
		}
	}
	e.verify()
}

// TestMoveRules: what a move needs besides being allowed.
func TestMoveRules(t *testing.T) {
	e := newEnv(t, store.Options{})
	n := 100
	for _, tc := range []struct {
		name string
		from gateway.State
		c    gateway.Change
		want string
	}{
		{"rating without a charge", gateway.StateCaptured, gateway.Change{To: gateway.StateRated, Call: call(0)}, "needs the call and its charge"},
		{"exception without a reason", gateway.StateCaptured, gateway.Change{To: gateway.StateException}, "needs the reason"},
		{"queue without a room", gateway.StateRated, gateway.Change{To: gateway.StateQueued}, "no room to post to"},
		{"in doubt without a reason", gateway.StateSent, gateway.Change{To: gateway.StateInDoubt}, "needs the reason"},
		{"void without a person", gateway.StateQueued, gateway.Change{To: gateway.StateVoided, Reason: "x"}, "person's decision"},
		{"repost without a reason", gateway.StateInDoubt, gateway.Change{To: gateway.StateReposted, Actor: "night"}, "person's decision"},
		{"transfer without a room", gateway.StateRefused, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "wrong room"}, "needs the room"},
		{"answer out of queued", gateway.StateQueued, gateway.Change{To: gateway.StateSent, Answer: &gateway.Answer{Code: "OK"}}, "answer from the PMS"},
		{"call twice", gateway.StateRated, gateway.Change{To: gateway.StateNotChargeable, Call: call(0)}, "parsed before"},
		{"engine re-rates", gateway.StateRated, gateway.Change{To: gateway.StateNotChargeable, Charge: charge(1)}, "a charge comes only"},
		{"engine changes room", gateway.StateSent, gateway.Change{To: gateway.StatePosted, Room: "416"}, "room can only change"},
		{"unknown state", gateway.StateRated, gateway.Change{To: "lost"}, "not a journal state"},
		{"bad call", gateway.StateCaptured, gateway.Change{To: gateway.StateRated, Call: &gateway.Call{}, Charge: charge(1)}, "no start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n++
			id := e.to(n, tc.from)
			_, err := e.j.Move(ctx, id, tc.c)
			if !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want invalid %q", tc.name, err, tc.want)
			}
		})
	}
	// Posting nothing: a free call cannot be queued.
	id := e.capture(300)
	e.move(id, gateway.Change{To: gateway.StateRated, Call: call(300), Charge: charge(0)})
	if _, err := e.j.Move(ctx, id, gateway.Change{To: gateway.StateQueued, Room: "415"}); err == nil || !strings.Contains(err.Error(), "no charge above zero") {
		t.Errorf("free call queued: %v", err)
	}
}

// TestPostingNumbers: a persisted counter that wraps at the maximum and never
// gives a number an unresolved entry holds.
func TestPostingNumbers(t *testing.T) {
	e := newEnv(t, store.Options{PostingMax: 9})
	held := map[uint32]gateway.EntryID{}
	// 1…9 given; the posted ones (odd) release their number.
	for n := range 9 {
		id := e.to(n, gateway.StateSent)
		en, _ := e.j.Entry(ctx, id)
		if en.Posting != uint32(n+1) {
			t.Fatalf("entry %d got posting %d, want %d", id, en.Posting, n+1)
		}
		if n%2 == 0 {
			e.move(id, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
		} else {
			held[en.Posting] = id
		}
	}
	e.reopen()
	// The counter wraps to 1 and skips the held (even) numbers.
	for _, want := range []uint32{1, 3} {
		id := e.to(200+int(want), gateway.StateSent)
		en, _ := e.j.Entry(ctx, id)
		if en.Posting != want {
			t.Errorf("after the wrap: posting %d, want %d", en.Posting, want)
		}
	}
	// An in-doubt entry keeps its number; reposting gives a new one and
	// frees the old.
	id := held[2]
	e.move(id, gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"})
	en := e.move(id, gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "not on the folio"})
	if en.State != gateway.StateQueued || en.Posting != 0 {
		t.Errorf("reposted: %s posting %d, want queued without a number", en.State, en.Posting)
	}
	en, _ = e.j.Entry(ctx, id)
	if h := en.History[len(en.History)-1]; h.From != gateway.StateReposted || h.To != gateway.StateQueued || !strings.Contains(h.Reason, "new posting number") {
		t.Errorf("repost history %+v", h)
	}
	if en = e.move(id, gateway.Change{To: gateway.StateSent}); en.Posting != 5 {
		t.Errorf("reposted and sent: posting %d, want 5", en.Posting)
	}
	// sent → queued (PMS busy) keeps the number.
	en = e.move(id, gateway.Change{To: gateway.StateQueued, Answer: &gateway.Answer{Code: "RY"}})
	if en.Posting != 5 {
		t.Errorf("retry changed posting to %d", en.Posting)
	}
	// A transfer, too, takes a new number (7: 6 is held) and the new room.
	en = e.move(held[4], gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"})
	en = e.move(en.ID, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "guest moved", Room: "512"})
	if en.State != gateway.StateQueued || en.Posting != 0 || en.Room != "512" {
		t.Errorf("transferred: %s posting %d room %s", en.State, en.Posting, en.Room)
	}
	if en = e.move(en.ID, gateway.Change{To: gateway.StateSent}); en.Posting != 7 {
		t.Errorf("transferred: %s posting %d room %s", en.State, en.Posting, en.Room)
	}
	// Fill every free number (2 and 4, freed, then 9), then the next
	// sending fails with a transient error and changes nothing.
	var got []uint32
	for n := 500; ; n++ {
		id := e.capture(n)
		e.move(id, gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(10)})
		e.move(id, gateway.Change{To: gateway.StateQueued, Room: "415"})
		en, err := e.j.Move(ctx, id, gateway.Change{To: gateway.StateSent})
		if err != nil {
			if !gateway.IsTransient(err) || !strings.Contains(err.Error(), "every posting number from 1 to 9") {
				t.Fatalf("all held: %v", err)
			}
			if en, _ := e.j.Entry(ctx, id); en.State != gateway.StateQueued {
				t.Errorf("failed queue moved the entry to %s", en.State)
			}
			break
		}
		got = append(got, en.Posting)
		if n > 520 {
			t.Fatal("numbers never ran out")
		}
	}
	if !slices.Equal(got, []uint32{9, 2, 4}) {
		t.Errorf("numbers given at the end: %v, want 9 2 4", got)
	}
	if list, _ := e.j.Entries(ctx, gateway.Filter{Posting: 2}); len(list) != 2 {
		t.Errorf("posting 2 was held by 2 entries, the query gives %d", len(list))
	}
	e.verify()
}

func TestReplay(t *testing.T) {
	e := newEnv(t, store.Options{ReplayWindow: 24 * time.Hour})
	r := record(1)
	first, _ := e.j.Capture(ctx, r)
	r.Received = r.Received.Add(2 * time.Hour)
	r.Source = "tcp 10.0.0.5:40113" // a reconnect: another port, the same bytes
	again, err := e.j.Capture(ctx, r)
	if err != nil || !again.Replay || again.ID != first.ID {
		t.Fatalf("replay: %+v %v", again, err)
	}
	e.reopen()
	again2, _ := e.j.Capture(ctx, r)
	if !again2.Replay {
		t.Error("replay index lost on reopen")
	}
	en, _ := e.j.Entry(ctx, first.ID)
	c, _ := e.j.Counts(ctx)
	if en.Replays != 2 || c.Replays != 2 || c.Entries != 1 || len(en.History) != 1 {
		t.Errorf("replays: entry %d, counts %+v, history %d", en.Replays, c, len(en.History))
	}
	// Outside the window the same bytes are a new call.
	r.Received = r.Received.Add(25 * time.Hour)
	later, _ := e.j.Capture(ctx, r)
	if later.Replay || later.ID == first.ID {
		t.Errorf("outside the window: %+v", later)
	}
	// Tidy forgets digests older than the window.
	e.clock.Add(72 * time.Hour)
	td, err := e.j.Tidy(ctx)
	if err != nil || td.DigestsExpired != 1 {
		t.Errorf("tidy: %+v %v", td, err)
	}
	// Import skips what was journaled, and duplicates within its batch.
	imp, err := e.j.Import(ctx, []gateway.ImportRecord{
		{Raw: record(1), Call: call(1)}, // captured 72 h ago: outside the window, a new entry
		{Raw: record(2), Call: call(2), Charge: charge(5), Room: "402"},
		{Raw: record(2), Call: call(2)},
	})
	if err != nil || imp.Duplicates != 1 || imp.IDs[2] != 0 || imp.IDs[0] == 0 || imp.IDs[1] != imp.IDs[0]+1 {
		t.Errorf("import: %+v %v", imp, err)
	}
	if _, err := e.j.Import(ctx, []gateway.ImportRecord{{Raw: record(9), Call: call(9)}, {Raw: record(10)}}); !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "record 2 has no call") {
		t.Errorf("bad import: %v", err)
	}
	if c, _ := e.j.Counts(ctx); c.States[gateway.StateImported] != 2 {
		t.Errorf("a refused import batch journaled something: %+v", c)
	}
	e.verify()
}

func TestQueries(t *testing.T) {
	e := newEnv(t, store.Options{})
	// 60 calls, one a minute from 14:00 UTC, extensions 400…449, some
	// posted to room 415 (ext 415 = n%50 == 15).
	for n := range 60 {
		switch {
		case n%50 == 15:
			e.to(n, gateway.StatePosted)
		case n%3 == 0:
			e.to(n, gateway.StateException)
		default:
			e.to(n, gateway.StateRated)
		}
	}
	t0 := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	ids := func(f gateway.Filter) []gateway.EntryID {
		t.Helper()
		list, err := e.j.Entries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []gateway.EntryID
		for _, en := range list {
			out = append(out, en.ID)
		}
		return out
	}
	// Calls 10 and 11 started in [14:10, 14:12); exceptions have no call and
	// are timed when read (14:00:nn).
	if got := ids(gateway.Filter{From: t0.Add(10 * time.Minute), To: t0.Add(12 * time.Minute)}); !slices.Equal(got, []gateway.EntryID{11, 12}) {
		t.Errorf("time range: %v", got)
	}
	if got := ids(gateway.Filter{Room: "415"}); !slices.Equal(got, []gateway.EntryID{16}) {
		t.Errorf("room 415: %v", got)
	}
	if got := ids(gateway.Filter{Extension: "402"}); !slices.Equal(got, []gateway.EntryID{3, 53}) {
		t.Errorf("extension 402: %v", got)
	}
	exc := ids(gateway.Filter{States: []gateway.State{gateway.StateException}})
	if len(exc) != 19 || exc[0] != 1 {
		t.Errorf("exceptions: %v", exc)
	}
	if got := ids(gateway.Filter{States: []gateway.State{gateway.StatePosted}, Newest: true}); !slices.Equal(got, []gateway.EntryID{16}) {
		t.Errorf("posted: %v", got)
	}
	both := ids(gateway.Filter{States: []gateway.State{gateway.StateException, gateway.StatePosted}, Limit: 6})
	if len(both) != 6 {
		t.Errorf("two states, limit 6: %v", both)
	}
	// Paging: forward and newest first, through the time index.
	var all []gateway.EntryID
	for after := gateway.EntryID(0); ; {
		page := ids(gateway.Filter{After: after, Limit: 7})
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1]
	}
	if len(all) != 60 {
		t.Fatalf("paging gave %d entries", len(all))
	}
	var back []gateway.EntryID
	for after := gateway.EntryID(0); ; {
		page := ids(gateway.Filter{After: after, Limit: 9, Newest: true})
		if len(page) == 0 {
			break
		}
		back = append(back, page...)
		after = page[len(page)-1]
	}
	slices.Reverse(back)
	if !slices.Equal(all, back) {
		t.Errorf("newest-first paging differs:\n%v\n%v", all, back)
	}
	byRoomPage := ids(gateway.Filter{Extension: "405", Newest: true, Limit: 1})
	if !slices.Equal(byRoomPage, []gateway.EntryID{56}) {
		t.Errorf("extension 405 newest: %v", byRoomPage)
	}
	if got := ids(gateway.Filter{Extension: "405", Newest: true, After: 56}); !slices.Equal(got, []gateway.EntryID{6}) {
		t.Errorf("extension 405 after 56: %v", got)
	}
	if got := ids(gateway.Filter{Posting: 1}); !slices.Equal(got, []gateway.EntryID{16}) {
		t.Errorf("posting 1: %v", got)
	}
	list, _ := e.j.Entries(ctx, gateway.Filter{Room: "415", History: true})
	if len(list) != 1 || len(list[0].History) != 5 {
		t.Errorf("history with the list: %+v", list)
	}
	for _, f := range []gateway.Filter{{States: []gateway.State{"lost"}}, {From: t0, To: t0.Add(-time.Hour)}, {After: 999}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			if _, err := e.j.Entries(ctx, f); !gateway.IsKind(err, gateway.KindInvalid) {
				t.Errorf("filter %+v: %v", f, err)
			}
		})
	}
	c, _ := e.j.Counts(ctx)
	if c.Entries != 60 || c.States[gateway.StateException] != 19 || c.States[gateway.StatePosted] != 1 {
		t.Errorf("counts %+v", c)
	}
	// EachPage lists what Entries lists, page by page, in every order and
	// through every index; the entries are those Entries returns.
	for _, f := range []gateway.Filter{{Limit: 7}, {Limit: 9, Newest: true, History: true}, {Extension: "402", Limit: 1},
		{States: []gateway.State{gateway.StateException, gateway.StatePosted}, Limit: 4}, {From: t0.Add(10 * time.Minute), Limit: 5}, {}} {
		want, err := e.j.Entries(ctx, gateway.Filter{Extension: f.Extension, States: f.States, From: f.From, Newest: f.Newest, History: f.History})
		if err != nil {
			t.Fatal(err)
		}
		var got []gateway.Entry
		pages := 0
		err = e.j.EachPage(ctx, f, func(page []gateway.Entry) error {
			pages++
			if f.Limit > 0 && len(page) > f.Limit {
				t.Errorf("%+v: page of %d", f, len(page))
			}
			for _, en := range page {
				// A copy, as the page's memory is reused.
				en.Raw.Data = slices.Clone(en.Raw.Data)
				if en.Call != nil {
					c := *en.Call
					c.Raw, en.Call = en.Raw.Data, &c
				}
				if en.Charge != nil {
					ch := *en.Charge
					en.Charge = &ch
				}
				got = append(got, en)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: EachPage differs from Entries (%d, %d entries)", f, len(got), len(want))
		}
		if f.Limit > 0 && pages < (len(want)+f.Limit-1)/f.Limit {
			t.Errorf("%+v: %d pages for %d entries", f, pages, len(want))
		}
	}
	stop := errors.New("enough")
	if err := e.j.EachPage(ctx, gateway.Filter{Limit: 2}, func([]gateway.Entry) error { return stop }); err != stop {
		t.Errorf("EachPage returned %v, want fn's error", err)
	}
	if err := e.j.EachPage(ctx, gateway.Filter{States: []gateway.State{"lost"}}, func([]gateway.Entry) error { return nil }); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("EachPage with a bad filter: %v", err)
	}
}

// TestFillReservationWhenSent: a posting queued before the guest data came
// has no reservation; the move to sent may fill it in, once, and never
// change the room or a known reservation.
func TestFillReservationWhenSent(t *testing.T) {
	e := newEnv(t, store.Options{})
	id := e.capture(1)
	e.move(id, gateway.Change{To: gateway.StateRated, Call: call(1), Charge: charge(136)})
	e.move(id, gateway.Change{To: gateway.StateQueued, Room: "415"})
	if _, err := e.j.Move(ctx, id, gateway.Change{To: gateway.StateSent, Room: "416", Reservation: "G1"}); err == nil {
		t.Error("the room changed on the move to sent")
	}
	if en := e.move(id, gateway.Change{To: gateway.StateSent, Reservation: "G77"}); en.Reservation != "G77" || en.Room != "415" {
		t.Errorf("sent entry: room %s reservation %s", en.Room, en.Reservation)
	}
	e.move(id, gateway.Change{To: gateway.StateQueued, Reason: "busy"})
	if _, err := e.j.Move(ctx, id, gateway.Change{To: gateway.StateSent, Reservation: "G78"}); err == nil {
		t.Error("a known reservation changed on the move to sent")
	}
}
