// Package gatewaytest has in-memory fakes of the interfaces package gateway
// defines — CallSource, Journal with Queries and Users, PMSLink — and a
// clock that moves only when a test says so, for testing the engine and
// the console without a disk or a PMS. Contract suites (contract.go) hold
// the fakes to the same rules as the real adapters (package store,
// pms/fias), so that a fake cannot drift from what it stands for.
package gatewaytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"callgate/gateway"
)

// JournalOptions tunes a fake journal; zero fields take store's defaults.
type JournalOptions struct {
	// Location is the site's time zone, for the wall-clock times of
	// history lines and events (default UTC).
	Location *time.Location
	// Now is the journal's clock (default time.Now).
	Now func() time.Time
	// ReplayWindow is how long a raw record is remembered to recognise a
	// replay of it (default 45 days).
	ReplayWindow time.Duration
	// PostingMax is the highest posting number before the counter wraps to
	// 1 (default 99,999,999).
	PostingMax uint32
}

// Journal is an in-memory gateway.Journal, gateway.Queries and
// gateway.Users, keeping the rules of package store (the contract suite
// JournalContract checks both): the same moves, posting numbers, replay
// detection, guest projection and errors. It keeps no file: Backup writes
// the events as JSON lines, which nothing opens again.
//
// A guest event is applied as if it carried every field (a FIAS GC that
// changes only some fields is not modelled).
type Journal struct {
	// Fail, if set, is asked before every write with the operation's name
	// ("capture", "move", "import", "guest", "audit", "tidy", "user",
	// "ship"): an error it returns fails the write, changing nothing — a
	// failing disk.
	Fail func(op string) error

	mu      sync.Mutex
	o       JournalOptions
	epoch   string
	created time.Time
	changes notifier // after every write

	entries map[gateway.EntryID]*fakeEntry
	lastID  gateway.EntryID
	events  []gateway.Event
	head    [32]byte
	ship    gateway.ShipAck // the acknowledged cursor (SetShipCursor)
	posting uint32
	held    map[uint32]gateway.EntryID
	// postingEpochs: postings numbered before ReplaceFile, unsettled then
	// (JournalInfo.PostingEpochs).
	postingEpochs gateway.PostingEpochs
	chainEpoch    string // the first epoch, once ReplaceFile changed it
	replay        map[[32]byte]replayMark
	replays       int64

	rooms      map[string][]stay
	stays      map[string]string // reservation → room
	resyncSeq  uint64            // the resync's start event, 0 when none runs
	nightAudit bool

	users map[string]gateway.User

	// read counts the entries Entry, Entries and EachPage returned.
	read int64
}

type fakeEntry struct {
	e        gateway.Entry // without History
	history  []gateway.StateChange
	postings []uint32 // every posting number it held, for Filter.Posting
}

type replayMark struct {
	id       gateway.EntryID
	received time.Time
}

type stay struct {
	g    gateway.Guest
	seen uint64
}

var (
	_ gateway.Journal = (*Journal)(nil)
	_ gateway.Queries = (*Journal)(nil)
	_ gateway.Users   = (*Journal)(nil)
)

// NewJournal returns an empty journal.
func NewJournal(o JournalOptions) *Journal {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReplayWindow <= 0 {
		o.ReplayWindow = 45 * 24 * time.Hour
	}
	if o.PostingMax == 0 {
		o.PostingMax = 99_999_999
	}
	j := &Journal{o: o,
		entries: map[gateway.EntryID]*fakeEntry{}, held: map[uint32]gateway.EntryID{}, replay: map[[32]byte]replayMark{},
		rooms: map[string][]stay{}, stays: map[string]string{}, users: map[string]gateway.User{}}
	j.created = j.now()
	j.epoch = fmt.Sprintf("fake-%x", sha256.Sum256([]byte(j.created.String())))[:41]
	j.head = sha256.Sum256([]byte("callgate journal " + j.epoch))
	return j
}

func (j *Journal) now() time.Time { return j.o.Now().UTC().Truncate(time.Microsecond) }

func (j *Journal) local(t time.Time) time.Time {
	l := t.In(j.o.Location)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// Changed returns a channel that is closed at the journal's next write:
// for tests that wait for the code under test to journal something.
func (j *Journal) Changed() <-chan struct{} { return j.changes.next() }

// Await calls cond after every write until it returns true (then Await
// does), or ctx ends (then false). cond may read the journal.
func (j *Journal) Await(ctx context.Context, cond func() bool) bool {
	return j.changes.await(ctx, cond)
}

// write runs fn under the lock, after the Fail hook, and wakes Changed.
func (j *Journal) write(ctx context.Context, op string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return gateway.Wrap(gateway.KindTransient, err, "the journal write ("+op+") was given up")
	}
	if j.Fail != nil {
		if err := j.Fail(op); err != nil {
			return err
		}
	}
	j.mu.Lock()
	err := fn()
	j.mu.Unlock()
	if err == nil {
		j.changes.notify()
	}
	return err
}

// event appends an event to the log and returns it.
func (j *Journal) event(ev gateway.Event, data map[string]any) *gateway.Event {
	ev.Seq = uint64(len(j.events)) + 1
	ev.Time = j.now()
	ev.Local = j.local(ev.Time)
	ev.Data, _ = gateway.MarshalPlain(data)
	// The body and hash as the journal keeps them (docs/journal.md, "Hash
	// chain"), so that a batch shipped from the fake decodes.
	ev.Body = eventBody(&ev)
	h := sha256.New()
	h.Write(j.head[:])
	h.Write(ev.Body)
	copy(ev.Hash[:], h.Sum(nil))
	j.head = ev.Hash
	j.events = append(j.events, ev)
	return &j.events[len(j.events)-1]
}

// eventBody writes an event's stored JSON object as package store does:
// seq, entry, kind, the wall clock and UTC times, actor, reason, from, to
// (each only when set) and data.
func eventBody(ev *gateway.Event) json.RawMessage {
	b := []byte(`{"seq":`)
	b = strconv.AppendUint(b, ev.Seq, 10)
	if ev.Entry != 0 {
		b = append(b, `,"entry":`...)
		b = strconv.AppendUint(b, uint64(ev.Entry), 10)
	}
	for _, f := range [...]struct{ k, v string }{{"kind", string(ev.Kind)}, {"time", ev.Local.Format(gateway.WallClockLayout)},
		{"time_utc", ev.Time.UTC().Format(time.RFC3339Nano)}, {"actor", ev.Actor}, {"reason", ev.Reason},
		{"from", string(ev.From)}, {"to", string(ev.To)}} {
		if f.v != "" {
			b = append(b, ',')
			b = gateway.AppendJSONString(b, f.k)
			b = append(b, ':')
			b = gateway.AppendJSONString(b, f.v)
		}
	}
	if len(ev.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, ev.Data...)
	}
	return append(b, '}')
}

// ShipCursor returns the acknowledged cursor; see gateway.Journal.
func (j *Journal) ShipCursor(ctx context.Context) (gateway.ShipAck, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	a := j.ship
	a.Epoch = j.epoch
	return a, nil
}

// SetShipCursor keeps the central's acknowledgement; see gateway.Journal.
func (j *Journal) SetShipCursor(ctx context.Context, a gateway.ShipAck) error {
	if a.Epoch != j.epoch {
		return gateway.Errorf(gateway.KindInvalid, "the central's cursor is for epoch %q and this journal is epoch %s: it cannot be kept", a.Epoch, j.epoch)
	}
	return j.write(ctx, "ship", func() error {
		if a.Cursor > uint64(len(j.events)) {
			return gateway.Errorf(gateway.KindInvalid, "the central acknowledged event %d of epoch %s, and this journal's last event is %d", a.Cursor, a.Epoch, len(j.events))
		}
		a.At = a.At.UTC().Truncate(time.Microsecond)
		j.ship = a
		return nil
	})
}

// Capture journals a raw record or counts a replay; see gateway.Journal.
func (j *Journal) Capture(ctx context.Context, r gateway.RawRecord) (gateway.Captured, error) {
	if len(r.Data) == 0 {
		return gateway.Captured{}, gateway.Errorf(gateway.KindInvalid, "a raw record with no bytes cannot be journaled")
	}
	var out gateway.Captured
	err := j.write(ctx, "capture", func() error {
		out = j.capture(r)
		return nil
	})
	return out, err
}

// capture journals r or counts a replay.
func (j *Journal) capture(r gateway.RawRecord) gateway.Captured {
	received := r.Received.UTC().Truncate(time.Microsecond)
	if r.Received.IsZero() {
		received = j.now()
	}
	d := sha256.Sum256(r.Data)
	if m, ok := j.replay[d]; ok && j.entries[m.id] != nil && absDur(received.Sub(m.received)) <= j.o.ReplayWindow {
		fe := j.entries[m.id]
		j.event(gateway.Event{Kind: gateway.EventReplayed, Entry: m.id}, map[string]any{"received": received, "source": r.Source})
		fe.e.Replays++
		fe.e.Updated = j.now()
		j.replays++
		return gateway.Captured{ID: m.id, Replay: true}
	}
	j.lastID++
	id := j.lastID
	raw := slices.Clone(r.Data)
	ev := j.event(gateway.Event{Kind: gateway.EventCaptured, Entry: id, To: gateway.StateCaptured},
		map[string]any{"raw": string(raw), "received": received, "source": r.Source, "truncated": r.Truncated, "cut": r.Cut})
	j.entries[id] = &fakeEntry{
		e: gateway.Entry{ID: id, State: gateway.StateCaptured, Time: received, Updated: ev.Time,
			Raw: gateway.RawRecord{Data: raw, Received: received, Source: r.Source, Truncated: r.Truncated, Cut: r.Cut}},
		history: []gateway.StateChange{{Seq: ev.Seq, Time: ev.Time, Local: ev.Local, To: gateway.StateCaptured}},
	}
	j.replay[d] = replayMark{id, received}
	return gateway.Captured{ID: id}
}

// CaptureAll journals raw records with the moves decided for them, all or
// nothing; see gateway.Journal.
func (j *Journal) CaptureAll(ctx context.Context, cs []gateway.Capture) ([]gateway.Captured, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	if err := gateway.CheckCaptures(cs); err != nil {
		return nil, err
	}
	out := make([]gateway.Captured, len(cs))
	err := j.write(ctx, "capture", func() error {
		u := j.begin()
		lastID, replays := j.lastID, j.replays
		// marks holds the replay marks the batch replaced, to put back.
		marks := map[[32]byte]*replayMark{}
		fail := func(err error) error {
			u.rollback()
			for id := lastID + 1; id <= j.lastID; id++ {
				delete(j.entries, id)
			}
			for d, m := range marks {
				if m == nil {
					delete(j.replay, d)
				} else {
					j.replay[d] = *m
				}
			}
			j.lastID, j.replays = lastID, replays
			return err
		}
		for i, c := range cs {
			d := sha256.Sum256(c.Rec.Data)
			m, ok := j.replay[d]
			if ok && j.entries[m.id] != nil {
				u.save(j.entries[m.id])
			}
			if _, saved := marks[d]; !saved {
				if ok {
					marks[d] = &m
				} else {
					marks[d] = nil
				}
			}
			cp := j.capture(c.Rec)
			out[i] = cp
			if cp.Replay {
				continue
			}
			for _, ch := range c.Moves {
				if err := j.move(cp.ID, ch, u); err != nil {
					return fail(fmt.Errorf("record %d of the batch (entry %d): %w", i+1, cp.ID, err))
				}
			}
			if !c.Send {
				continue
			}
			err := j.move(cp.ID, gateway.Change{To: gateway.StateSent, Alone: true}, u)
			if gateway.IsKind(err, gateway.KindInvalid) || gateway.IsTransient(err) {
				continue
			}
			if err != nil {
				return fail(err)
			}
			en := j.entries[cp.ID].copy(false)
			out[i].Sent = &en
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Move moves an entry; see gateway.Journal.
func (j *Journal) Move(ctx context.Context, id gateway.EntryID, c gateway.Change) (gateway.Entry, error) {
	return j.MoveAll(ctx, []gateway.Move{{ID: id, Change: c}})
}

// MoveAll makes several moves, all or nothing; see gateway.Journal.
func (j *Journal) MoveAll(ctx context.Context, moves []gateway.Move) (gateway.Entry, error) {
	if len(moves) == 0 {
		return gateway.Entry{}, nil
	}
	if err := gateway.CheckStates(moves); err != nil {
		return gateway.Entry{}, err
	}
	var out gateway.Entry
	err := j.write(ctx, "move", func() error {
		undo := j.begin()
		for _, m := range moves {
			if err := j.move(m.ID, m.Change, undo); err != nil {
				undo.rollback()
				return err
			}
		}
		out = j.entries[moves[len(moves)-1].ID].copy(false)
		return nil
	})
	if err != nil {
		return gateway.Entry{}, err
	}
	return out, nil
}

// undo restores what a failed batch of moves changed.
type undo struct {
	j       *Journal
	events  int
	head    [32]byte
	posting uint32
	held    map[uint32]gateway.EntryID
	saved   map[gateway.EntryID]fakeEntry
}

func (j *Journal) begin() *undo {
	return &undo{j: j, events: len(j.events), head: j.head, posting: j.posting, held: clonemap(j.held), saved: map[gateway.EntryID]fakeEntry{}}
}

func (u *undo) save(fe *fakeEntry) {
	if _, ok := u.saved[fe.e.ID]; !ok {
		u.saved[fe.e.ID] = fakeEntry{e: fe.e, history: slices.Clone(fe.history), postings: slices.Clone(fe.postings)}
	}
}

func (u *undo) rollback() {
	j := u.j
	j.events, j.head, j.posting, j.held = j.events[:u.events], u.head, u.posting, u.held
	for id, fe := range u.saved {
		*j.entries[id] = fe
	}
}

func clonemap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (j *Journal) move(id gateway.EntryID, c gateway.Change, u *undo) error {
	fe := j.entries[id]
	if fe == nil {
		return gateway.Errorf(gateway.KindNotFound, "entry %d does not exist", id)
	}
	if err := j.check(fe, c); err != nil {
		return err
	}
	u.save(fe)
	e := &fe.e
	from := e.State
	data := map[string]any{"call": c.Call, "charge": c.Charge, "room": c.Room, "reservation": c.Reservation}
	var posting uint32
	if c.To == gateway.StateSent && e.Posting == 0 {
		var err error
		if posting, err = j.nextPosting(); err != nil {
			return err
		}
		data["posting"] = posting
	}
	ev := j.event(gateway.Event{Kind: gateway.EventMoved, Entry: id, Actor: c.Actor, Reason: c.Reason, From: from, To: c.To}, data)
	e.State, e.Updated = c.To, ev.Time
	if c.Call != nil {
		e.Call = canonCall(c.Call)
		if !e.Call.StartUTC.IsZero() {
			e.Time = e.Call.StartUTC
		}
	}
	if c.Charge != nil {
		ch := *c.Charge
		e.Charge = &ch
	}
	if c.Room != "" {
		e.Room = c.Room
	}
	if c.Reservation != "" {
		e.Reservation = c.Reservation
	}
	switch {
	case posting != 0:
		j.take(fe, posting)
	case c.To == gateway.StatePosted || c.To == gateway.StatePostedByHand || c.To == gateway.StateVoided:
		j.release(fe)
	}
	if c.To == gateway.StateSent {
		e.Sent = ev.Time
	}
	if c.Answer != nil {
		e.Answer = &gateway.Answer{Code: c.Answer.Code, Text: c.Answer.Text, Time: ev.Time}
	}
	fe.history = append(fe.history, gateway.StateChange{Seq: ev.Seq, Time: ev.Time, Local: ev.Local, From: from, To: c.To, Actor: c.Actor, Reason: c.Reason})
	if c.To == gateway.StateReposted || c.To == gateway.StateTransferred {
		reason := fmt.Sprintf("%s by %s: queued again, to be sent under a new posting number", c.To, c.Actor)
		ev := j.event(gateway.Event{Kind: gateway.EventMoved, Entry: id, From: c.To, To: gateway.StateQueued, Reason: reason}, map[string]any{})
		e.State, e.Updated = gateway.StateQueued, ev.Time
		j.release(fe)
		e.Posting = 0
		fe.history = append(fe.history, gateway.StateChange{Seq: ev.Seq, Time: ev.Time, Local: ev.Local, From: c.To, To: gateway.StateQueued, Reason: reason})
	}
	return nil
}

func (j *Journal) take(fe *fakeEntry, n uint32) {
	j.release(fe)
	fe.e.Posting, j.posting = n, n
	j.held[n] = fe.e.ID
	fe.postings = append(fe.postings, n)
}

func (j *Journal) release(fe *fakeEntry) {
	if n := fe.e.Posting; n != 0 && j.held[n] == fe.e.ID {
		delete(j.held, n)
	}
}

func (j *Journal) nextPosting() (uint32, error) {
	return gateway.NextPosting(j.posting, j.o.PostingMax, func(n uint32) bool { _, ok := j.held[n]; return ok })
}

// check enforces the rules of gateway.Journal.Move.
func (j *Journal) check(fe *fakeEntry, c gateway.Change) error {
	return gateway.CheckMove(fe.e, c, j.count)
}

func (j *Journal) count(s gateway.State) int64 {
	var n int64
	for _, fe := range j.entries {
		if fe.e.State == s {
			n++
		}
	}
	return n
}

// canonCall copies a call as the journal keeps it: times to the second,
// the raw bytes with the entry's.
func canonCall(c *gateway.Call) *gateway.Call {
	out := *c
	s := c.Start
	out.Start = time.Date(s.Year(), s.Month(), s.Day(), s.Hour(), s.Minute(), s.Second(), 0, time.UTC)
	if !c.StartUTC.IsZero() {
		out.StartUTC = c.StartUTC.UTC().Truncate(time.Second)
	}
	if c.Answered != nil {
		out.Answered = gateway.Bool(*c.Answered)
	}
	if c.RingS != nil {
		out.RingS = gateway.Int(*c.RingS)
	}
	out.Raw = nil
	return &out
}

// copy returns the entry for a caller, sharing nothing with the journal.
func (fe *fakeEntry) copy(history bool) gateway.Entry {
	e := fe.e
	e.Raw.Data = slices.Clone(e.Raw.Data)
	if e.Call != nil {
		c := *e.Call
		c.Raw = e.Raw.Data
		e.Call = &c
	}
	if e.Charge != nil {
		ch := *e.Charge
		e.Charge = &ch
	}
	if e.Answer != nil {
		a := *e.Answer
		e.Answer = &a
	}
	if history {
		e.History = slices.Clone(fe.history)
	}
	return e
}

// Import journals history; see gateway.Journal.
func (j *Journal) Import(ctx context.Context, recs []gateway.ImportRecord) (gateway.Imported, error) {
	if err := gateway.CheckImport(recs); err != nil {
		return gateway.Imported{}, err
	}
	out := gateway.Imported{IDs: make([]gateway.EntryID, len(recs))}
	err := j.write(ctx, "import", func() error {
		for i, r := range recs {
			received := r.Raw.Received.UTC().Truncate(time.Microsecond)
			if r.Raw.Received.IsZero() {
				received = j.now()
			}
			call := canonCall(r.Call)
			t := received
			if !call.StartUTC.IsZero() {
				t = call.StartUTC
			}
			if j.imported(r.Raw.Data, t) {
				out.Duplicates++
				continue
			}
			j.lastID++
			id := j.lastID
			raw := slices.Clone(r.Raw.Data)
			ev := j.event(gateway.Event{Kind: gateway.EventImported, Entry: id, To: gateway.StateImported},
				map[string]any{"raw": string(raw), "received": received, "source": r.Raw.Source, "call": r.Call, "charge": r.Charge, "room": r.Room})
			fe := &fakeEntry{
				e: gateway.Entry{ID: id, State: gateway.StateImported, Time: t, Updated: ev.Time, Call: call, Room: r.Room,
					Raw: gateway.RawRecord{Data: raw, Received: received, Source: r.Raw.Source, Truncated: r.Raw.Truncated, Cut: r.Raw.Cut}},
				history: []gateway.StateChange{{Seq: ev.Seq, Time: ev.Time, Local: ev.Local, To: gateway.StateImported}},
			}
			if r.Charge != nil {
				ch := *r.Charge
				fe.e.Charge = &ch
			}
			j.entries[id] = fe
			out.IDs[i] = id
		}
		return nil
	})
	if err != nil {
		return gateway.Imported{}, err
	}
	return out, nil
}

func (j *Journal) imported(raw []byte, t time.Time) bool {
	for _, fe := range j.entries {
		if fe.e.Time.Equal(t) && bytes.Equal(fe.e.Raw.Data, raw) {
			return true
		}
	}
	return false
}

// Audit appends an audit record; see gateway.Journal.
func (j *Journal) Audit(ctx context.Context, a gateway.AuditRecord) error {
	if strings.TrimSpace(a.Actor) == "" || strings.TrimSpace(a.Action) == "" {
		return gateway.Errorf(gateway.KindInvalid, "an audit record needs who (actor) and what (action)")
	}
	return j.write(ctx, "audit", func() error {
		j.event(gateway.Event{Kind: gateway.EventAudit, Actor: a.Actor, Reason: a.Reason}, map[string]any{"action": a.Action, "detail": a.Detail})
		return nil
	})
}

// Tidy forgets replay digests older than the replay window; the fake keeps
// no names apart from the rooms and prunes nothing.
func (j *Journal) Tidy(ctx context.Context) (gateway.Tidied, error) {
	var t gateway.Tidied
	err := j.write(ctx, "tidy", func() error {
		cut := j.now().Add(-j.o.ReplayWindow)
		for d, m := range j.replay {
			if m.received.Before(cut) {
				delete(j.replay, d)
				t.DigestsExpired++
			}
		}
		return nil
	})
	return t, err
}

// Entry returns one entry with its history; see gateway.Queries.
func (j *Journal) Entry(ctx context.Context, id gateway.EntryID) (gateway.Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	fe := j.entries[id]
	if fe == nil {
		return gateway.Entry{}, gateway.Errorf(gateway.KindNotFound, "entry %d does not exist", id)
	}
	j.read++
	return fe.copy(true), nil
}

// Entries lists entries; see gateway.Queries.
func (j *Journal) Entries(ctx context.Context, f gateway.Filter) ([]gateway.Entry, error) {
	for _, s := range f.States {
		if !s.Valid() {
			return nil, gateway.Errorf(gateway.KindInvalid, "%q is not a journal state", s)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return nil, gateway.Errorf(gateway.KindInvalid, "the end of the time range (%s) is before its start (%s)", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var all []*fakeEntry
	for _, fe := range j.entries {
		e := &fe.e
		switch {
		case !f.From.IsZero() && e.Time.Before(f.From), !f.To.IsZero() && !e.Time.Before(f.To):
		case len(f.States) > 0 && !slices.Contains(f.States, e.State):
		case f.Room != "" && e.Room != f.Room:
		case f.Extension != "" && (e.Call == nil || e.Call.Extension != f.Extension):
		case f.Posting != 0 && !slices.Contains(fe.postings, f.Posting):
		default:
			all = append(all, fe)
		}
	}
	sort.Slice(all, func(a, b int) bool {
		x, y := all[a].e, all[b].e
		if !x.Time.Equal(y.Time) {
			return x.Time.Before(y.Time) != f.Newest
		}
		return (x.ID < y.ID) != f.Newest
	})
	if f.After != 0 {
		after := j.entries[f.After]
		if after == nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "entry %d, to list after, does not exist", f.After)
		}
		ahead := func(fe *fakeEntry) bool {
			x, y := fe.e, after.e
			switch {
			case x.ID == y.ID:
				return false
			case !x.Time.Equal(y.Time):
				return x.Time.After(y.Time) != f.Newest
			}
			return (x.ID > y.ID) != f.Newest
		}
		all = slices.DeleteFunc(all, func(fe *fakeEntry) bool { return !ahead(fe) })
	}
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[:f.Limit]
	}
	out := make([]gateway.Entry, len(all))
	for i, fe := range all {
		out[i] = fe.copy(f.History)
	}
	j.read += int64(len(out))
	return out, nil
}

// EntriesRead returns how many entries Entry, Entries and EachPage have
// returned so far: a test's measure of what a caller reads.
func (j *Journal) EntriesRead() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.read
}

// Totals sums the entries of [from, to), each range end rounded down to the
// quarter hour, as gateway.Tally counts them; see gateway.Queries.
func (j *Journal) Totals(ctx context.Context, from, to time.Time) (gateway.Totals, error) {
	var out gateway.Totals
	if err := gateway.CheckTotalsRange(from, to); err != nil {
		return out, err
	}
	from, to = from.Truncate(gateway.TotalsSlot), to.Truncate(gateway.TotalsSlot)
	j.mu.Lock()
	defer j.mu.Unlock()
	type key struct{ class, cur string }
	sums := map[key]*gateway.ClassTotal{}
	for _, fe := range j.entries {
		t := fe.e.Time.Truncate(gateway.TotalsSlot)
		if t.Before(from) || !t.Before(to) {
			continue
		}
		out.Entries++
		call, rev := gateway.Tally(fe.e.State, fe.e.Charge)
		if !call {
			continue
		}
		k := key{fe.e.Charge.Class, fe.e.Charge.Currency}
		if sums[k] == nil {
			sums[k] = &gateway.ClassTotal{Class: k.class, Currency: k.cur}
		}
		sums[k].Calls++
		sums[k].RevenueMinor += rev
	}
	for _, t := range sums {
		out.Classes = append(out.Classes, *t)
	}
	sort.Slice(out.Classes, func(a, b int) bool {
		x, y := out.Classes[a], out.Classes[b]
		return x.Class < y.Class || x.Class == y.Class && x.Currency < y.Currency
	})
	return out, nil
}

// EachPage lists entries a page at a time; see gateway.Queries.
func (j *Journal) EachPage(ctx context.Context, f gateway.Filter, fn func([]gateway.Entry) error) error {
	if f.Limit <= 0 {
		f.Limit = 20_000
	}
	for {
		page, err := j.Entries(ctx, f)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < f.Limit {
			return nil
		}
		f.After = page[len(page)-1].ID
	}
}

// Counts counts entries by state; see gateway.Queries.
func (j *Journal) Counts(ctx context.Context) (gateway.Counts, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := gateway.Counts{States: map[gateway.State]int64{}, Replays: j.replays}
	for _, fe := range j.entries {
		c.States[fe.e.State]++
		c.Entries++
	}
	return c, nil
}

// Events returns events in sequence order; see gateway.Queries.
func (j *Journal) Events(ctx context.Context, f gateway.EventFilter) ([]gateway.Event, error) {
	if f.Limit < 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "event limit %d is negative", f.Limit)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []gateway.Event
	for _, ev := range j.events {
		audit := ev.Kind == gateway.EventAudit || ev.Kind == gateway.EventPruned || ev.Kind == gateway.EventMoved && ev.Actor != ""
		if ev.Seq <= f.Since || f.Entry != 0 && ev.Entry != f.Entry || f.Audit && !audit {
			continue
		}
		ev.Data = slices.Clone(ev.Data)
		ev.Body = slices.Clone(ev.Body)
		out = append(out, ev)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// Info describes the journal; see gateway.Queries.
func (j *Journal) Info(ctx context.Context) (gateway.JournalInfo, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	chain := j.chainEpoch
	if chain == "" {
		chain = j.epoch
	}
	return gateway.JournalInfo{Epoch: j.epoch, ChainEpoch: chain, Created: j.created, LastSeq: uint64(len(j.events)),
		Entries: uint64(j.lastID), Posting: j.posting, ResyncOpen: j.resyncSeq != 0, PostingEpochs: maps.Clone(j.postingEpochs)}, nil
}

// ReplaceFile does what a journal file put back from a backup does at its
// next writable open (docs/journal.md, "Epochs"), as far as posting
// references go: a new epoch, and the postings numbered and unsettled now
// keep the epoch they were numbered under.
func (j *Journal) ReplaceFile() {
	j.mu.Lock()
	defer j.mu.Unlock()
	next := gateway.PostingEpochs{}
	for n, id := range j.held {
		next[gateway.PostingKey{Entry: id, Posting: n}] = j.postingEpochs.Of(id, n, j.epoch)
	}
	j.postingEpochs = next
	if j.chainEpoch == "" {
		j.chainEpoch = j.epoch
	}
	j.epoch = fmt.Sprintf("fake-%x", sha256.Sum256([]byte(j.epoch)))[:41]
}

// Backup writes the events as JSON lines.
func (j *Journal) Backup(ctx context.Context, w io.Writer) (int64, error) {
	evs, err := j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return n, err
		}
		m, err := w.Write(append(b, '\n'))
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// EntryCount returns how many entries are in state s: a shortcut for tests.
func (j *Journal) EntryCount(s gateway.State) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return int(j.count(s))
}
