package gatewaytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"callgate/gateway"
)

// JournalUnderTest is the journal a contract suite checks: the three
// interfaces of one journal.
type JournalUnderTest interface {
	gateway.Journal
	gateway.Queries
	gateway.Users
}

// OpenJournal opens a new, empty journal with the options given (a real
// one maps them to its own); the journal is closed by the test's cleanup.
type OpenJournal func(t *testing.T, o JournalOptions) JournalUnderTest

// JournalContract checks that open's journals keep the contract of
// gateway.Journal, gateway.Queries and gateway.Users: capture and replay
// detection, legal and illegal moves, posting numbers, batches, queues and
// listings, imports, guest events, the audit log and users. It runs against
// the fake (NewJournal) and against package store.
func JournalContract(t *testing.T, open OpenJournal) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, OpenJournal)
	}{
		{"capture", contractCapture}, {"capture with moves", contractCaptureAll}, {"replay", contractReplay}, {"moves", contractMoves},
		{"posting numbers", contractPostings}, {"posting numbers wrap", contractPostingWrap},
		{"person's moves", contractPersonMoves}, {"batches", contractBatches},
		{"queues and listings", contractListings}, {"import", contractImport},
		{"guest events", contractGuests}, {"audit", contractAudit}, {"users", contractUsers},
		{"totals", contractTotals}, {"queue pages", contractQueuePages}, {"shipping", contractShipping},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// contractEnv is a journal on a clock that ticks a millisecond per reading.
type contractEnv struct {
	t     *testing.T
	j     JournalUnderTest
	clock *Clock
	ctx   context.Context
	n     int
}

func newContractEnv(t *testing.T, open OpenJournal, o JournalOptions) *contractEnv {
	c := NewClock(time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC))
	o.Now = func() time.Time { c.Advance(time.Millisecond); return c.Now() }
	if o.Location == nil {
		o.Location, _ = time.LoadLocation("America/New_York")
	}
	return &contractEnv{t: t, j: open(t, o), clock: c, ctx: context.Background()}
}

// call is the n-th test call: from extension ext, n minutes after 14:00.
func contractCall(n int, ext string) (gateway.Call, gateway.Charge) {
	start := time.Date(2026, 11, 27, 14, n, 0, 0, time.UTC)
	call := gateway.Call{Format: "test", Extension: ext, Dialed: "011441632960123", Start: start, StartUTC: start.Add(5 * time.Hour),
		DurationS: 60 + n, Direction: gateway.Outgoing, Answered: gateway.Bool(true)}
	ch := gateway.Charge{Class: "international", Destination: "United Kingdom", Chargeable: true, TotalMinor: 100 + int64(n), Currency: "USD", TariffVersion: "base"}
	return call, ch
}

// capture journals a new record and returns its entry id.
func (e *contractEnv) capture() gateway.EntryID {
	e.t.Helper()
	e.n++
	c, err := e.j.Capture(e.ctx, gateway.RawRecord{Data: []byte(fmt.Sprintf("record %d", e.n)), Received: e.clock.Now(), Source: "contract"})
	if err != nil || c.Replay {
		e.t.Fatalf("capture: %+v %v", c, err)
	}
	return c.ID
}

// rated captures a record and rates it, for extension/room ext.
func (e *contractEnv) rated(ext string) gateway.EntryID {
	e.t.Helper()
	id := e.capture()
	call, ch := contractCall(e.n, ext)
	e.must(id, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch})
	return id
}

// queued captures, rates and queues a record for room ext.
func (e *contractEnv) queued(ext string) gateway.Entry {
	e.t.Helper()
	id := e.rated(ext)
	return e.must(id, gateway.Change{To: gateway.StateQueued, Room: ext})
}

// sent captures, rates, queues and sends a record for room ext.
func (e *contractEnv) sent(ext string) gateway.Entry {
	e.t.Helper()
	return e.must(e.queued(ext).ID, gateway.Change{To: gateway.StateSent})
}

func (e *contractEnv) must(id gateway.EntryID, c gateway.Change) gateway.Entry {
	e.t.Helper()
	en, err := e.j.Move(e.ctx, id, c)
	if err != nil {
		e.t.Fatalf("move %d to %s: %v", id, c.To, err)
	}
	return en
}

func (e *contractEnv) entry(id gateway.EntryID) gateway.Entry {
	e.t.Helper()
	en, err := e.j.Entry(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

func (e *contractEnv) fails(id gateway.EntryID, c gateway.Change, k gateway.Kind) {
	e.t.Helper()
	before := e.entry(id)
	if _, err := e.j.Move(e.ctx, id, c); !gateway.IsKind(err, k) {
		e.t.Errorf("move %d from %s to %s: %v, want kind %s", id, before.State, c.To, err, k)
	}
	if after := e.entry(id); after.State != before.State || after.Posting != before.Posting || len(after.History) != len(before.History) {
		e.t.Errorf("a refused move changed entry %d: %s #%d → %s #%d", id, before.State, before.Posting, after.State, after.Posting)
	}
}

func contractCapture(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	if _, err := e.j.Capture(e.ctx, gateway.RawRecord{}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("empty record: %v, want invalid", err)
	}
	received := e.clock.Now()
	c, err := e.j.Capture(e.ctx, gateway.RawRecord{Data: []byte("a\x01b"), Received: received, Source: "tcp 10.0.0.5:1", Cut: true})
	if err != nil || c.ID != 1 || c.Replay {
		t.Fatalf("first capture: %+v %v", c, err)
	}
	en := e.entry(c.ID)
	if en.State != gateway.StateCaptured || !bytes.Equal(en.Raw.Data, []byte("a\x01b")) || !en.Raw.Received.Equal(received) ||
		en.Raw.Source != "tcp 10.0.0.5:1" || !en.Raw.Cut || !en.Time.Equal(received) || len(en.History) != 1 || en.History[0].To != gateway.StateCaptured {
		t.Errorf("captured entry %+v", en)
	}
	if id := e.capture(); id != 2 {
		t.Errorf("second id %d, want 2", id)
	}
	if _, err := e.j.Entry(e.ctx, 99); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("unknown entry: %v, want not found", err)
	}
	info, err := e.j.Info(e.ctx)
	if err != nil || info.Entries != 2 || info.Epoch == "" {
		t.Errorf("info %+v %v", info, err)
	}
	// A journal's first epoch is its own chain's and follows none
	// (docs/journal.md, "Epochs").
	if info.ChainEpoch != info.Epoch || info.Follows != "" || info.FollowsEntry != 0 || info.FollowsSeq != 0 || len(info.Ancestry) != 0 {
		t.Errorf("a new journal's epochs: %+v", info)
	}
}

func contractReplay(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{ReplayWindow: 24 * time.Hour})
	at := e.clock.Now()
	rec := gateway.RawRecord{Data: []byte("11/27 14:03 101 0114416"), Received: at, Source: "pbx"}
	first, err := e.j.Capture(e.ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.Received = at.Add(time.Hour)
	again, err := e.j.Capture(e.ctx, rec)
	if err != nil || !again.Replay || again.ID != first.ID {
		t.Fatalf("replay within the window: %+v %v", again, err)
	}
	if en := e.entry(first.ID); en.Replays != 1 || en.State != gateway.StateCaptured || len(en.History) != 1 {
		t.Errorf("replayed entry %+v", en)
	}
	if c, _ := e.j.Counts(e.ctx); c.Replays != 1 || c.Entries != 1 {
		t.Errorf("counts %+v", c)
	}
	rec.Received = at.Add(25 * time.Hour)
	late, err := e.j.Capture(e.ctx, rec)
	if err != nil || late.Replay || late.ID == first.ID {
		t.Errorf("the same bytes after the window: %+v %v, want a new entry", late, err)
	}
}

func contractMoves(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	id := e.capture()
	call, ch := contractCall(1, "101")
	e.fails(id, gateway.Change{To: "nowhere"}, gateway.KindInvalid)
	e.fails(id, gateway.Change{To: gateway.StateQueued, Room: "101"}, gateway.KindInvalid)
	e.fails(id, gateway.Change{To: gateway.StateRated, Call: &call}, gateway.KindInvalid)
	e.fails(id, gateway.Change{To: gateway.StateException}, gateway.KindInvalid)
	bad := call
	bad.Direction = "sideways"
	e.fails(id, gateway.Change{To: gateway.StateRated, Call: &bad, Charge: &ch}, gateway.KindInvalid)
	if _, err := e.j.Move(e.ctx, 99, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("unknown entry: %v, want not found", err)
	}
	en := e.must(id, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch})
	if en.State != gateway.StateRated || en.Call == nil || en.Call.Extension != "101" || en.Charge == nil || en.Charge.TotalMinor != ch.TotalMinor ||
		!en.Time.Equal(call.StartUTC) || en.History != nil {
		t.Errorf("rated entry %+v", en)
	}
	e.fails(id, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}, gateway.KindInvalid)
	e.fails(id, gateway.Change{To: gateway.StateQueued}, gateway.KindInvalid) // no room
	e.fails(id, gateway.Change{To: gateway.StatePosted}, gateway.KindInvalid)
	en = e.must(id, gateway.Change{To: gateway.StateQueued, Room: "101", Reservation: "R1"})
	if en.Room != "101" || en.Reservation != "R1" || en.Posting != 0 {
		t.Errorf("queued entry %+v (the posting number comes with its sending)", en)
	}
	e.fails(id, gateway.Change{To: gateway.StateSent, Room: "102"}, gateway.KindInvalid)
	e.fails(id, gateway.Change{To: gateway.StateSent, Alone: true, Answer: &gateway.Answer{Code: "OK"}}, gateway.KindInvalid)
	en = e.must(id, gateway.Change{To: gateway.StateSent, Alone: true})
	if en.Sent.IsZero() || en.Posting == 0 {
		t.Errorf("sent entry without its time of sending or its posting number: %+v", en)
	}
	e.fails(id, gateway.Change{To: gateway.StateInDoubt}, gateway.KindInvalid) // no reason
	en = e.must(id, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK", Text: "booked"}})
	if en.Answer == nil || en.Answer.Code != "OK" || en.Answer.Text != "booked" || en.Answer.Time.IsZero() {
		t.Errorf("posted entry's answer %+v", en.Answer)
	}
	h := e.entry(id).History
	want := []gateway.State{gateway.StateCaptured, gateway.StateRated, gateway.StateQueued, gateway.StateSent, gateway.StatePosted}
	if len(h) != len(want) {
		t.Fatalf("history %+v", h)
	}
	for i, s := range want {
		if h[i].To != s || (i > 0 && h[i].From != want[i-1]) || h[i].Seq == 0 || h[i].Time.IsZero() || h[i].Local.Location() != time.UTC {
			t.Errorf("history line %d: %+v", i, h[i])
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	if l := h[0].Time.In(ny); h[0].Local.Hour() != l.Hour() {
		t.Errorf("history's wall clock %s for %s", h[0].Local, h[0].Time)
	}
	// A record that is no call.
	nc := e.capture()
	e.must(nc, gateway.Change{To: gateway.StateNotChargeable, Reason: "not a call record"})
	e.fails(nc, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "x"}, gateway.KindInvalid)
}

func contractPostings(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	a, b := e.queued("101"), e.queued("102")
	if a.Posting != 0 || b.Posting != 0 {
		t.Fatalf("queued postings hold numbers %d, %d: a number comes with the sending", a.Posting, b.Posting)
	}
	// Numbers are given in sending order: b, sent first, gets 1.
	b = e.must(b.ID, gateway.Change{To: gateway.StateSent})
	a = e.must(a.ID, gateway.Change{To: gateway.StateSent})
	if b.Posting != 1 || a.Posting != 2 {
		t.Fatalf("posting numbers %d, %d in sending order, want 1, 2", b.Posting, a.Posting)
	}
	// "Busy, retry": back to the queue with the same number, sent again
	// under it.
	en := e.must(a.ID, gateway.Change{To: gateway.StateQueued, Answer: &gateway.Answer{Code: "RY"}, Reason: "the PMS is busy"})
	if en.Posting != 2 || en.Answer == nil || en.Answer.Code != "RY" {
		t.Errorf("retried posting %+v", en)
	}
	if en = e.must(a.ID, gateway.Change{To: gateway.StateSent}); en.Posting != 2 {
		t.Errorf("retried posting sent as %d, want 2", en.Posting)
	}
	// Posted releases its number; in doubt keeps it.
	e.must(a.ID, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
	e.must(b.ID, gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"})
	if c := e.sent("103"); c.Posting != 3 {
		t.Errorf("third posting number %d, want 3", c.Posting)
	}
	// A person reposts: back to the queue in one call, without a number;
	// its sending gives a new one.
	e.fails(b.ID, gateway.Change{To: gateway.StateReposted, Reason: "checked the folio"}, gateway.KindInvalid) // no actor
	en = e.must(b.ID, gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "not on the folio"})
	if en.State != gateway.StateQueued || en.Posting != 0 {
		t.Errorf("reposted entry %s #%d, want queued without a number", en.State, en.Posting)
	}
	if en = e.must(b.ID, gateway.Change{To: gateway.StateSent}); en.Posting != 4 {
		t.Errorf("reposted entry sent as %d, want 4", en.Posting)
	}
	h := e.entry(b.ID).History
	if n := len(h); n < 3 || h[n-3].To != gateway.StateReposted || h[n-3].Actor != "night" || h[n-2].To != gateway.StateQueued {
		t.Errorf("repost history %+v", h)
	}
	for _, p := range []uint32{1, 4} {
		es, err := e.j.Entries(e.ctx, gateway.Filter{Posting: p})
		if err != nil || len(es) != 1 || es[0].ID != b.ID {
			t.Errorf("entries by posting %d: %v %v", p, es, err)
		}
	}
	if info, _ := e.j.Info(e.ctx); info.Posting != 4 {
		t.Errorf("info's last posting %d, want 4", info.Posting)
	}
}

func contractPostingWrap(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{PostingMax: 9})
	var held []gateway.Entry
	for range 9 {
		en := e.sent("101")
		held = append(held, e.must(en.ID, gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"}))
	}
	if held[8].Posting != 9 {
		t.Fatalf("ninth posting %d", held[8].Posting)
	}
	id := e.queued("101").ID
	e.fails(id, gateway.Change{To: gateway.StateSent}, gateway.KindTransient)
	e.must(held[4].ID, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "duplicate"})
	if en := e.must(id, gateway.Change{To: gateway.StateSent}); en.Posting != 5 {
		t.Errorf("after the wrap: posting %d, want 5, the one released", en.Posting)
	}
}

func contractPersonMoves(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	id := e.capture()
	call, ch := contractCall(1, "999")
	e.must(id, gateway.Change{To: gateway.StateException, Call: &call, Charge: &ch, Reason: "extension maps to no room"})
	e.fails(id, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "guest's room"}, gateway.KindInvalid) // no room
	e.fails(id, gateway.Change{To: gateway.StateQueued, Room: "101"}, gateway.KindInvalid)
	en := e.must(id, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "the guest's room", Room: "204"})
	if en.State != gateway.StateQueued || en.Room != "204" || en.Posting != 0 {
		t.Errorf("transferred entry %+v", en)
	}
	id2 := e.capture()
	e.must(id2, gateway.Change{To: gateway.StateException, Reason: "unreadable record"})
	re := ch
	re.TotalMinor = 250
	e.fails(id2, gateway.Change{To: gateway.StatePostedByHand, Actor: "night"}, gateway.KindInvalid) // no reason
	en = e.must(id2, gateway.Change{To: gateway.StatePostedByHand, Actor: "night", Reason: "posted at the desk", Charge: &re})
	if en.State != gateway.StatePostedByHand || en.Charge == nil || en.Charge.TotalMinor != 250 {
		t.Errorf("posted by hand %+v", en)
	}
}

func contractBatches(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	id := e.capture()
	call, ch := contractCall(1, "101")
	before, _ := e.j.Events(e.ctx, gateway.EventFilter{})
	// The second move is illegal: nothing of the batch is journaled.
	_, err := e.j.MoveAll(e.ctx, []gateway.Move{{ID: id, Change: gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}},
		{ID: id, Change: gateway.Change{To: gateway.StatePosted}}})
	if !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a batch with an illegal move: %v", err)
	}
	after, _ := e.j.Events(e.ctx, gateway.EventFilter{})
	if en := e.entry(id); en.State != gateway.StateCaptured || len(after) != len(before) {
		t.Errorf("a refused batch changed the journal: %s, %d events before, %d after", en.State, len(before), len(after))
	}
	if en, err := e.j.MoveAll(e.ctx, nil); err != nil || en.ID != 0 {
		t.Errorf("an empty batch: %+v %v", en, err)
	}
	en, err := e.j.MoveAll(e.ctx, []gateway.Move{{ID: id, Change: gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}},
		{ID: id, Change: gateway.Change{To: gateway.StateQueued, Room: "101"}}, {ID: id, Change: gateway.Change{To: gateway.StateSent, Alone: true}}})
	if err != nil || en.State != gateway.StateSent || en.Posting != 1 {
		t.Fatalf("rated, queued, sent in one batch: %+v %v", en, err)
	}
	if h := e.entry(id).History; len(h) != 4 {
		t.Errorf("a batch's moves are one event each: %d history lines", len(h))
	}
	// Alone: another posting is out, so this one waits its turn.
	other := e.queued("102")
	e.fails(other.ID, gateway.Change{To: gateway.StateSent, Alone: true}, gateway.KindTransient)
	// The answer to one and the sending of the next, together.
	en, err = e.j.MoveAll(e.ctx, []gateway.Move{{ID: id, Change: gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}}},
		{ID: other.ID, Change: gateway.Change{To: gateway.StateSent}}})
	if err != nil || en.ID != other.ID || en.State != gateway.StateSent {
		t.Errorf("answer and next sending: %+v %v", en, err)
	}
}

func contractListings(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	var ids []gateway.EntryID
	for i := range 5 {
		ids = append(ids, e.queued(fmt.Sprint(101+i%2)).ID)
	}
	e.must(ids[1], gateway.Change{To: gateway.StateSent})
	list := func(f gateway.Filter) []gateway.EntryID {
		t.Helper()
		es, err := e.j.Entries(e.ctx, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var out []gateway.EntryID
		for _, en := range es {
			out = append(out, en.ID)
		}
		return out
	}
	eq := func(what string, got, want []gateway.EntryID) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	q := gateway.Filter{States: []gateway.State{gateway.StateQueued}}
	eq("the queue in call order", list(q), []gateway.EntryID{ids[0], ids[2], ids[3], ids[4]})
	q.Limit = 1
	eq("the queue's head", list(q), []gateway.EntryID{ids[0]})
	eq("newest first", list(gateway.Filter{Newest: true, Limit: 2}), []gateway.EntryID{ids[4], ids[3]})
	eq("after", list(gateway.Filter{After: ids[1], Limit: 2}), []gateway.EntryID{ids[2], ids[3]})
	eq("newest, after", list(gateway.Filter{Newest: true, After: ids[3]}), []gateway.EntryID{ids[2], ids[1], ids[0]})
	eq("by room", list(gateway.Filter{Room: "102"}), []gateway.EntryID{ids[1], ids[3]})
	eq("by extension", list(gateway.Filter{Extension: "101"}), []gateway.EntryID{ids[0], ids[2], ids[4]})
	first := e.entry(ids[1]).Time
	eq("by time", list(gateway.Filter{From: first, To: e.entry(ids[3]).Time}), []gateway.EntryID{ids[1], ids[2]})
	var paged []gateway.EntryID
	pages := 0
	err := e.j.EachPage(e.ctx, gateway.Filter{Limit: 2}, func(es []gateway.Entry) error {
		pages++
		for _, en := range es {
			paged = append(paged, en.ID)
		}
		return nil
	})
	if err != nil || pages < 3 {
		t.Errorf("EachPage: %d pages, %v", pages, err)
	}
	eq("every page", paged, ids)
	if es, _ := e.j.Entries(e.ctx, gateway.Filter{Limit: 1, History: true}); len(es) != 1 || len(es[0].History) == 0 {
		t.Error("a listing with History has no history")
	}
	if _, err := e.j.Entries(e.ctx, gateway.Filter{States: []gateway.State{"lost"}}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("unknown state: %v", err)
	}
	if _, err := e.j.Entries(e.ctx, gateway.Filter{From: first, To: first.Add(-time.Hour)}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("To before From: %v", err)
	}
	c, err := e.j.Counts(e.ctx)
	if err != nil || c.States[gateway.StateQueued] != 4 || c.States[gateway.StateSent] != 1 || c.Entries != 5 {
		t.Errorf("counts %+v %v", c, err)
	}
}

func contractImport(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	call, ch := contractCall(1, "101")
	rec := gateway.ImportRecord{Raw: gateway.RawRecord{Data: []byte("old record"), Source: "file smdr.log"}, Call: &call, Charge: &ch, Room: "101"}
	if _, err := e.j.Import(e.ctx, []gateway.ImportRecord{rec, {Raw: rec.Raw}}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a record without a call: %v", err)
	}
	if c, _ := e.j.Counts(e.ctx); c.Entries != 0 {
		t.Error("a refused import journaled records")
	}
	got, err := e.j.Import(e.ctx, []gateway.ImportRecord{rec})
	if err != nil || len(got.IDs) != 1 || got.IDs[0] == 0 || got.Duplicates != 0 {
		t.Fatalf("import: %+v %v", got, err)
	}
	en := e.entry(got.IDs[0])
	if en.State != gateway.StateImported || en.Room != "101" || en.Charge == nil || !en.Time.Equal(call.StartUTC) {
		t.Errorf("imported entry %+v", en)
	}
	again, err := e.j.Import(e.ctx, []gateway.ImportRecord{rec})
	if err != nil || again.Duplicates != 1 || again.IDs[0] != 0 {
		t.Errorf("the same record again: %+v %v", again, err)
	}
	// Imports are not in the replay index.
	if c, err := e.j.Capture(e.ctx, gateway.RawRecord{Data: rec.Raw.Data}); err != nil || c.Replay {
		t.Errorf("capture after import: %+v %v", c, err)
	}
}

func contractGuests(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	apply := func(ev gateway.GuestEvent, want bool) {
		t.Helper()
		changed, err := e.j.ApplyGuest(e.ctx, ev)
		if err != nil || changed != want {
			t.Errorf("%s %s/%s: changed %v, %v; want %v", ev.Kind, ev.Guest.Room, ev.Guest.Reservation, changed, err, want)
		}
	}
	guests := func(room string) []string {
		t.Helper()
		gs, err := e.j.Guests(e.ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.Room+"/"+g.Reservation)
		}
		return out
	}
	eq := func(what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	in := func(room, res string, shared bool) gateway.GuestEvent {
		return gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: room, Reservation: res, Shared: shared, LastName: "Guest " + res}}
	}
	if _, err := e.j.ApplyGuest(e.ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("check-in without a room: %v", err)
	}
	if _, err := e.j.ApplyGuest(e.ctx, gateway.GuestEvent{Kind: "wedding"}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("unknown event: %v", err)
	}
	if _, err := e.j.ApplyGuest(e.ctx, gateway.GuestEvent{Kind: gateway.GuestCheckOut}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("check-out with neither room nor reservation: %v", err)
	}
	apply(in("101", "R1", false), true)
	apply(in("101", "R1", false), false) // a repeated GI changes nothing
	if gs, _ := e.j.Guests(e.ctx, "101"); len(gs) != 1 || gs[0].LastName != "Guest R1" {
		t.Errorf("guest of 101: %+v", gs)
	}
	apply(in("101", "R2", true), true) // a sharer
	eq("sharers", guests("101"), "101/R1", "101/R2")
	apply(in("102", "R3", false), true)
	eq("every room", guests(""), "101/R1", "101/R2", "102/R3")
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "101", Reservation: "R2"}}, true)
	eq("after a sharer's check-out", guests("101"), "101/R1")
	// A room move.
	apply(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "103", Reservation: "R3", LastName: "Guest R3"}, OldRoom: "102"}, true)
	eq("moved out", guests("102"))
	eq("moved in", guests("103"), "103/R3")
	// A check-out without a reservation empties the room.
	apply(in("104", "", false), true)
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "104"}}, true)
	eq("room check-out", guests("104"))
	// A resync removes the reservations the PMS did not resend. While it
	// runs, the journal says so (a gateway started then holds part of the
	// house).
	resyncOpen := func(want bool) {
		t.Helper()
		if info, err := e.j.Info(e.ctx); err != nil || info.ResyncOpen != want {
			t.Errorf("Info().ResyncOpen = %v (%v), want %v", info.ResyncOpen, err, want)
		}
	}
	resyncOpen(false)
	apply(gateway.GuestEvent{Kind: gateway.ResyncStart}, true)
	resyncOpen(true)
	ev := in("101", "R1", false)
	ev.Resync = true
	if _, err := e.j.ApplyGuest(e.ctx, ev); err != nil { // changed or not: a resync's sight is the journal's affair
		t.Error(err)
	}
	apply(gateway.GuestEvent{Kind: gateway.ResyncEnd}, true)
	resyncOpen(false)
	eq("after the resync", guests(""), "101/R1")
	// An incomplete resync (its end is Partial: no DE came) saw only part
	// of the hotel: it removes no stay it did not see (docs/fias.md,
	// "Resync").
	apply(in("105", "R5", false), true)
	apply(gateway.GuestEvent{Kind: gateway.ResyncStart}, true)
	ev = in("101", "R1", false)
	ev.Resync = true
	if _, err := e.j.ApplyGuest(e.ctx, ev); err != nil {
		t.Error(err)
	}
	apply(gateway.GuestEvent{Kind: gateway.ResyncEnd, Partial: true}, true)
	eq("after an incomplete resync", guests(""), "101/R1", "105/R5")
	// Pages of rooms, in room order; a room's sharers stay together.
	apply(in("103", "R6", false), true)
	apply(in("103", "R7", true), true)
	page := func(from string, rooms int, want ...string) string {
		t.Helper()
		p, err := e.j.GuestsPage(e.ctx, from, rooms)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range p.Guests {
			got = append(got, g.Room+"/"+g.Reservation)
		}
		eq(fmt.Sprintf("page from %q of %d", from, rooms), got, want...)
		if p.Rooms != 3 {
			t.Errorf("page from %q: %d rooms in all, want 3", from, p.Rooms)
		}
		return p.Next
	}
	if next := page("", 2, "101/R1", "103/R6", "103/R7"); next != "105" {
		t.Errorf("next page from %q, want 105", next)
	}
	if next := page("105", 2, "105/R5"); next != "" {
		t.Errorf("next page after the last: %q", next)
	}
	page("102", 1, "103/R6", "103/R7")
	page("106", 1)
	if _, err := e.j.GuestsPage(e.ctx, "", 0); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a page of no rooms: %v", err)
	}
	if g, _ := e.j.GuestsPage(e.ctx, "", 1); len(g.Guests) != 1 || g.Guests[0].LastName != "Guest R1" {
		t.Errorf("a page's guests without their names: %+v", g.Guests)
	}
	apply(gateway.GuestEvent{Kind: gateway.NightAuditStart}, true)
	apply(gateway.GuestEvent{Kind: gateway.NightAuditEnd}, true)
	// The guest's personal data goes to the guest record, not the event
	// (docs/journal.md, "Guest records"), and is what Guests reads.
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "108", Reservation: "R9", LastName: "Guest R9",
		Language: "Klingon", VIP: "Platinum7", Group: "Orion Syndicate", NoPost: true, ClassOfService: "cos-9"}}, true)
	if gs, _ := e.j.Guests(e.ctx, "108"); len(gs) != 1 || gs[0].Language != "Klingon" || gs[0].VIP != "Platinum7" ||
		gs[0].Group != "Orion Syndicate" || !gs[0].NoPost || gs[0].ClassOfService != "cos-9" {
		t.Errorf("a guest's personal data as Guests reads it: %+v", gs)
	}
	evs, _ := e.j.Events(e.ctx, gateway.EventFilter{})
	for _, ev := range evs {
		if ev.Kind != gateway.EventGuest {
			continue
		}
		if bytes.Contains(ev.Data, []byte("Guest R")) {
			t.Errorf("a guest's name in event %d: %s", ev.Seq, ev.Data)
		}
		if _, personal, err := gateway.SealGuestData(ev.Data); err != nil || personal {
			t.Errorf("guest event %d carries more than the stay (%v): %s", ev.Seq, err, ev.Data)
		}
	}
}

func contractAudit(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	if err := e.j.Audit(e.ctx, gateway.AuditRecord{Actor: "admin"}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("audit without an action: %v", err)
	}
	if err := e.j.Audit(e.ctx, gateway.AuditRecord{Actor: "admin", Action: "tariff-change", Reason: "new rates", Detail: map[string]string{"file": "usa.yaml"}}); err != nil {
		t.Fatal(err)
	}
	q := e.queued("101")
	e.must(q.ID, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "test call"})
	evs, err := e.j.Events(e.ctx, gateway.EventFilter{Audit: true})
	if err != nil || len(evs) != 2 || evs[0].Kind != gateway.EventAudit || evs[0].Actor != "admin" ||
		!bytes.Contains(evs[0].Data, []byte(`"tariff-change"`)) || !bytes.Contains(evs[0].Data, []byte(`"usa.yaml"`)) ||
		evs[1].Kind != gateway.EventMoved || evs[1].Actor != "night" || evs[1].To != gateway.StateVoided || evs[1].Entry != q.ID {
		t.Errorf("audit log %+v %v", evs, err)
	}
	all, _ := e.j.Events(e.ctx, gateway.EventFilter{})
	for i, ev := range all {
		if ev.Seq != uint64(i+1) {
			t.Errorf("event %d has sequence %d", i+1, ev.Seq)
		}
	}
	mine, _ := e.j.Events(e.ctx, gateway.EventFilter{Entry: q.ID, Since: 1, Limit: 2})
	if len(mine) != 2 || mine[0].Entry != q.ID {
		t.Errorf("an entry's events %+v", mine)
	}
	if _, err := e.j.Events(e.ctx, gateway.EventFilter{Limit: -1}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("negative limit: %v", err)
	}
}

func contractUsers(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	ctx := e.ctx
	if err := e.j.PutUser(ctx, gateway.User{Name: "x"}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a user without a role: %v", err)
	}
	tok := gateway.Token{Hash: []byte("hash-1"), Label: "script"}
	if err := e.j.PutUser(ctx, gateway.User{Name: "night", Role: "auditor", PasswordHash: []byte("pw"), Tokens: []gateway.Token{tok}}); err != nil {
		t.Fatal(err)
	}
	if err := e.j.PutUser(ctx, gateway.User{Name: "day", Role: "frontdesk", Tokens: []gateway.Token{tok}}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a token another user holds: %v", err)
	}
	u, err := e.j.UserByToken(ctx, []byte("hash-1"))
	if err != nil || u.Name != "night" || u.Created.IsZero() {
		t.Errorf("user by token: %+v %v", u, err)
	}
	if _, err := e.j.UserByToken(ctx, []byte("nope")); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	u, err = e.j.UpdateUser(ctx, "night", func(u *gateway.User) error { u.FailedLogins = 3; return nil })
	if err != nil || u.FailedLogins != 3 {
		t.Errorf("update: %+v %v", u, err)
	}
	if _, err := e.j.UpdateUser(ctx, "night", func(u *gateway.User) error { u.Name = "day"; return nil }); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("rename: %v", err)
	}
	if _, err := e.j.UpdateUser(ctx, "ghost", func(*gateway.User) error { return nil }); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("update of an unknown user: %v", err)
	}
	if err := e.j.PutUser(ctx, gateway.User{Name: "admin", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	us, err := e.j.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Name != "admin" || us[1].Name != "night" {
		t.Errorf("users %+v %v", us, err)
	}
	if err := e.j.DeleteUser(ctx, "night"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.j.User(ctx, "night"); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("deleted user: %v", err)
	}
	if _, err := e.j.UserByToken(ctx, []byte("hash-1")); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("a deleted user's token: %v", err)
	}
	if err := e.j.DeleteUser(ctx, "night"); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

// contractTotals: the running totals of a range equal what Tally counts
// over the entries Entries lists for the same range (rounded down to the
// quarter hour), through captures, rates, postings, voids, transfers and
// imports; a bad range is refused.
func contractTotals(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	check := func(what string, from, to time.Time) {
		t.Helper()
		got, err := e.j.Totals(e.ctx, from, to)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		es, err := e.j.Entries(e.ctx, gateway.Filter{From: from.Truncate(gateway.TotalsSlot), To: to.Truncate(gateway.TotalsSlot)})
		if err != nil {
			t.Fatal(err)
		}
		want := gateway.Totals{Entries: int64(len(es))}
		idx := map[[2]string]int{}
		for _, en := range es {
			call, rev := gateway.Tally(en.State, en.Charge)
			if !call {
				continue
			}
			k := [2]string{en.Charge.Class, en.Charge.Currency}
			i, ok := idx[k]
			if !ok {
				i = len(want.Classes)
				idx[k] = i
				want.Classes = append(want.Classes, gateway.ClassTotal{Class: k[0], Currency: k[1]})
			}
			want.Classes[i].Calls++
			want.Classes[i].RevenueMinor += rev
		}
		sort.Slice(want.Classes, func(a, b int) bool {
			x, y := want.Classes[a], want.Classes[b]
			return x.Class < y.Class || x.Class == y.Class && x.Currency < y.Currency
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: totals %+v, the entries give %+v", what, got, want)
		}
	}
	day := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC) // midnight in New York
	whole := func(what string) {
		t.Helper()
		check(what+", the day", day, day.AddDate(0, 0, 1))
		check(what+", 19:00-19:15", time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 19, 15, 0, 0, time.UTC))
		check(what+", 19:07-19:22 (rounded)", time.Date(2026, 11, 27, 19, 7, 0, 0, time.UTC), time.Date(2026, 11, 27, 19, 22, 0, 0, time.UTC))
	}
	whole("empty")
	e.capture() // captured at 14:00 UTC: an entry, no call
	bad := e.capture()
	e.must(bad, gateway.Change{To: gateway.StateException, Reason: "unreadable record"})
	posted := e.queued("101")
	e.must(posted.ID, gateway.Change{To: gateway.StateSent})
	e.must(posted.ID, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
	voided := e.queued("102")
	e.must(voided.ID, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "test call"})
	e.queued("103")
	e.rated("104")
	other := e.capture()
	call, ch := contractCall(30, "105")
	ch.Class, ch.Currency = "local", "EUR"
	e.must(other, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch})
	byHand := e.queued("106")
	e.must(byHand.ID, gateway.Change{To: gateway.StateSent})
	e.must(byHand.ID, gateway.Change{To: gateway.StateInDoubt, Reason: "no answer"})
	e.must(byHand.ID, gateway.Change{To: gateway.StatePostedByHand, Actor: "night", Reason: "on the folio"})
	free := e.capture()
	call, ch = contractCall(31, "107")
	ch.Chargeable, ch.TotalMinor = false, 0
	e.must(free, gateway.Change{To: gateway.StateNotChargeable, Call: &call, Charge: &ch, Reason: "free"})
	whole("after moves")
	got, err := e.j.Totals(e.ctx, day, day.AddDate(0, 0, 1))
	if err != nil || got.Entries != 9 || len(got.Classes) != 2 {
		t.Errorf("the day's totals %+v %v, want 9 entries in 2 classes", got, err)
	}
	call, ch = contractCall(40, "108")
	if _, err := e.j.Import(e.ctx, []gateway.ImportRecord{{Raw: gateway.RawRecord{Data: []byte("history 1"), Received: e.clock.Now()}, Call: &call, Charge: &ch, Room: "108"}}); err != nil {
		t.Fatal(err)
	}
	whole("after an import")

	for _, r := range [][2]time.Time{{day, day.Add(-time.Minute)}, {day, day.Add(gateway.TotalsMaxRange + time.Hour)}} {
		if _, err := e.j.Totals(e.ctx, r[0], r[1]); !gateway.IsKind(err, gateway.KindInvalid) {
			t.Errorf("totals of %s to %s: %v, want invalid", r[0], r[1], err)
		}
	}
}

// contractQueuePages: a queue (one state) listed a page at a time, newest
// or oldest first, reaches every entry once, in order, even when the entry
// a page ended on has left the queue meanwhile (the console's exceptions
// pages, docs/journal.md); a time range and EachPage over one state select
// what an action by filter moves.
func contractQueuePages(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	var exc []gateway.EntryID // in entry time order
	for i := range 23 {
		id := e.capture()
		if i%5 == 4 {
			e.must(id, gateway.Change{To: gateway.StateNotChargeable, Reason: "not a call"})
			continue
		}
		e.must(id, gateway.Change{To: gateway.StateException, Reason: "unreadable record"})
		exc = append(exc, id)
	}
	var gone gateway.EntryID
	for _, newest := range []bool{true, false} {
		want := slices.Clone(exc)
		if newest {
			slices.Reverse(want)
		}
		var got []gateway.EntryID
		f := gateway.Filter{States: []gateway.State{gateway.StateException}, Newest: newest, Limit: 4}
		for pages := 0; ; pages++ {
			es, err := e.j.Entries(e.ctx, f)
			if err != nil || pages > 10 {
				t.Fatalf("page %d: %v", pages, err)
			}
			for _, en := range es {
				got = append(got, en.ID)
			}
			if len(es) < f.Limit {
				break
			}
			f.After = es[len(es)-1].ID
			if pages == 1 && newest { // the page's last entry is resolved before the next page
				e.must(f.After, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "junk"})
				gone = f.After
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("newest %v: pages list %v, want %v", newest, got, want)
		}
		exc = slices.DeleteFunc(exc, func(id gateway.EntryID) bool { return id == gone })
	}
	c, _ := e.j.Counts(e.ctx)
	if c.States[gateway.StateException] != int64(len(exc)) {
		t.Errorf("counts %+v", c.States)
	}
	// A time range over one state, a page at a time.
	from, to := e.entry(exc[3]).Time, e.entry(exc[9]).Time
	var ranged []gateway.EntryID
	err := e.j.EachPage(e.ctx, gateway.Filter{States: []gateway.State{gateway.StateException}, From: from, To: to, Limit: 2}, func(es []gateway.Entry) error {
		for _, en := range es {
			ranged = append(ranged, en.ID)
		}
		return nil
	})
	want := exc[3:9]
	if err != nil || fmt.Sprint(ranged) != fmt.Sprint(want) {
		t.Errorf("a time range of the queue: %v %v, want %v", ranged, err, want)
	}
}

// contractCaptureAll: records journaled with their moves in one
// transaction; a replay inside the batch; the sending that joins it only
// when nothing else waits; a batch with a bad move journals nothing.
func contractCaptureAll(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	if got, err := e.j.CaptureAll(e.ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no records: %v %v", got, err)
	}
	rec := func(s string) gateway.RawRecord {
		return gateway.RawRecord{Data: []byte(s), Received: e.clock.Now(), Source: "contract"}
	}
	call, ch := contractCall(1, "101")
	posting := []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}, {To: gateway.StateQueued, Room: "101"}}
	got, err := e.j.CaptureAll(e.ctx, []gateway.Capture{
		{Rec: rec("call a"), Moves: posting, Send: true},
		{Rec: rec("call a"), Moves: posting, Send: true}, // the same bytes again: a replay
		{Rec: rec("header"), Moves: []gateway.Change{{To: gateway.StateNotChargeable, Reason: "not a call record"}}},
		{Rec: rec("left captured")},
	})
	if err != nil || len(got) != 4 {
		t.Fatalf("CaptureAll: %+v %v", got, err)
	}
	a := got[0]
	if a.Replay || a.Sent == nil || a.Sent.State != gateway.StateSent || a.Sent.Posting != 1 || a.Sent.ID != a.ID {
		t.Errorf("first record: %+v (sent %+v), want it sent under posting 1", a, a.Sent)
	}
	if !got[1].Replay || got[1].ID != a.ID || got[1].Sent != nil {
		t.Errorf("the same bytes in the batch: %+v, want a replay of entry %d", got[1], a.ID)
	}
	if got[2].ID != a.ID+1 || got[3].ID != a.ID+2 {
		t.Errorf("ids %d, %d after %d", got[2].ID, got[3].ID, a.ID)
	}
	en := e.entry(a.ID)
	var h []gateway.State
	for _, c := range en.History {
		h = append(h, c.To)
	}
	if !slices.Equal(h, []gateway.State{gateway.StateCaptured, gateway.StateRated, gateway.StateQueued, gateway.StateSent}) ||
		en.Replays != 1 || !bytes.Equal(en.Raw.Data, []byte("call a")) || en.Room != "101" || en.Charge == nil {
		t.Errorf("entry %d: history %v, replays %d, raw %q, room %q", a.ID, h, en.Replays, en.Raw.Data, en.Room)
	}
	if s := e.entry(got[2].ID).State; s != gateway.StateNotChargeable {
		t.Errorf("header in state %s", s)
	}
	if en := e.entry(got[3].ID); en.State != gateway.StateCaptured || len(en.History) != 1 {
		t.Errorf("record without moves: %s %+v", en.State, en.History)
	}
	// A posting is sent only when nothing else is queued or sent: these
	// stay queued behind the first.
	call2, ch2 := contractCall(2, "102")
	got, err = e.j.CaptureAll(e.ctx, []gateway.Capture{{Rec: rec("call b"), Send: true,
		Moves: []gateway.Change{{To: gateway.StateRated, Call: &call2, Charge: &ch2}, {To: gateway.StateQueued, Room: "102"}}}})
	if err != nil || got[0].Sent != nil {
		t.Fatalf("a second posting: %+v %v, want it queued", got, err)
	}
	if en := e.entry(got[0].ID); en.State != gateway.StateQueued || en.Posting != 0 {
		t.Errorf("second posting %s #%d, want queued without a number", en.State, en.Posting)
	}
	// A bad move, or a record without bytes: nothing of the batch.
	before, _ := e.j.Counts(e.ctx)
	for _, bad := range [][]gateway.Capture{
		{{Rec: rec("fine")}, {Rec: rec("bad"), Moves: []gateway.Change{{To: gateway.StatePosted}}}},
		{{Rec: rec("fine")}, {Rec: gateway.RawRecord{}}},
		{{Rec: rec("fine")}, {Rec: rec("bad"), Moves: []gateway.Change{{To: "nowhere"}}}},
	} {
		if _, err := e.j.CaptureAll(e.ctx, bad); !gateway.IsKind(err, gateway.KindInvalid) {
			t.Errorf("a bad batch: %v, want kind invalid", err)
		}
	}
	after, _ := e.j.Counts(e.ctx)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("a refused batch changed the counts: %v → %v", before, after)
	}
	// The refused records were not journaled: "fine" is new, not a replay.
	if got, err := e.j.CaptureAll(e.ctx, []gateway.Capture{{Rec: rec("fine")}}); err != nil || got[0].Replay {
		t.Errorf("a record of a refused batch: %+v %v", got, err)
	}
}

// contractShipping checks what the shipper relies on (docs/central.md):
// every event carries its stored body, the hashes chain over the bodies
// from the epoch's genesis, and the acknowledged cursor is kept per epoch.
func contractShipping(t *testing.T, open OpenJournal) {
	e := newContractEnv(t, open, JournalOptions{})
	q := e.queued("101")
	e.must(q.ID, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "test call"})
	if _, err := e.j.ApplyGuest(e.ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "101", Reservation: "77", LastName: "Muster"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.j.Audit(e.ctx, gateway.AuditRecord{Actor: "admin", Action: "config-change"}); err != nil {
		t.Fatal(err)
	}
	in, err := e.j.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := e.j.Events(e.ctx, gateway.EventFilter{})
	if err != nil || len(evs) < 5 {
		t.Fatalf("events %d %v", len(evs), err)
	}
	prev := sha256.Sum256([]byte("callgate journal " + in.Epoch))
	for _, ev := range evs {
		var hd struct {
			Seq  uint64 `json:"seq"`
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(ev.Body, &hd); err != nil || hd.Seq != ev.Seq || hd.Kind != string(ev.Kind) {
			t.Fatalf("event %d's body %q: %v", ev.Seq, ev.Body, err)
		}
		if h := sha256.Sum256(append(prev[:], ev.Body...)); h != ev.Hash {
			t.Fatalf("event %d's hash is not SHA-256 of the previous hash and its body", ev.Seq)
		}
		prev = ev.Hash
	}
	if bytes.Contains(evs[len(evs)-2].Body, []byte("Muster")) {
		t.Error("a guest event's body carries the guest's name")
	}
	// A page from the middle carries its bodies too.
	page, _ := e.j.Events(e.ctx, gateway.EventFilter{Since: 2, Limit: 2})
	if len(page) != 2 || page[0].Seq != 3 || !bytes.Equal(page[0].Body, evs[2].Body) {
		t.Errorf("page of events %+v", page)
	}

	c, err := e.j.ShipCursor(e.ctx)
	if err != nil || c.Epoch != in.Epoch || c.Cursor != 0 {
		t.Fatalf("cursor of a journal never shipped: %+v %v", c, err)
	}
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	if err := e.j.SetShipCursor(e.ctx, gateway.ShipAck{Epoch: in.Epoch, Cursor: 4, At: at}); err != nil {
		t.Fatal(err)
	}
	if c, _ = e.j.ShipCursor(e.ctx); c.Cursor != 4 || !c.At.Equal(at) || c.Epoch != in.Epoch {
		t.Errorf("cursor after SetShipCursor: %+v", c)
	}
	if err := e.j.SetShipCursor(e.ctx, gateway.ShipAck{Epoch: in.Epoch, Cursor: in.LastSeq + 1}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a cursor above the last event: %v", err)
	}
	if err := e.j.SetShipCursor(e.ctx, gateway.ShipAck{Epoch: "another", Cursor: 1}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a cursor of another epoch: %v", err)
	}
	if err := e.j.SetShipCursor(e.ctx, gateway.ShipAck{Epoch: in.Epoch, Cursor: 2}); err != nil {
		t.Fatal(err)
	}
	if c, _ = e.j.ShipCursor(e.ctx); c.Cursor != 2 || !c.At.IsZero() {
		t.Errorf("a cursor set lower: %+v", c)
	}
}
