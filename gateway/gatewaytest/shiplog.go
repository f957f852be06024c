package gatewaytest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"callgate/gateway"
)

// ShipLog writes a journal's event log as a property ships it (stored
// bodies in the journal's event format, docs/journal.md, each hashed onto
// the one before), for the central's tests: calls taken through their
// states, persons' moves, audit records. It keeps what each entry should
// end as, so that a test can compare the central's projection with it.
type ShipLog struct {
	Epoch string
	Loc   *time.Location
	// SealableUpto is the last event written before journal schema 4,
	// which batches name (OldGuest moves it to its event).
	SealableUpto uint64
	now          time.Time
	seq          uint64
	entry        uint64
	posting      uint32
	prev         [32]byte
	events       []gateway.Event
	// Want is each entry as its events leave it.
	Want map[gateway.EntryID]*ShipWant
	// Entries are the entries as the journal would show them (without
	// the raw record), history and all.
	Entries map[gateway.EntryID]*gateway.Entry
}

// ShipWant is what an entry of a ShipLog should show at the central.
type ShipWant struct {
	State      gateway.State
	Room       string
	Extension  string
	TotalMinor int64 // 0 when unrated
	Currency   string
	Posting    uint32
	Answer     string
}

// NewShipLog starts an epoch's log whose first event is at start (UTC),
// with wall-clock times in loc.
func NewShipLog(epoch string, start time.Time, loc *time.Location) *ShipLog {
	return &ShipLog{Epoch: epoch, Loc: loc, now: start.UTC(), Want: map[gateway.EntryID]*ShipWant{}, Entries: map[gateway.EntryID]*gateway.Entry{},
		prev: gateway.JournalGenesis(epoch)} // event 1 chains from the epoch's genesis, as the store writes it
}

// Events is every event written so far.
func (l *ShipLog) Events() []gateway.Event { return l.events }

// Batch is events from..to (sequence numbers, inclusive) as one batch.
func (l *ShipLog) Batch(from, to uint64) gateway.ShipBatch {
	b := gateway.ShipBatch{Epoch: l.Epoch, Events: append([]gateway.Event(nil), l.events[from-1:to]...),
		SealableUpto: l.SealableUpto, HasSealable: true,
		Site: gateway.SiteSnapshot{Name: "Test Hotel", Timezone: l.Loc.String(), At: l.now, Link: gateway.LinkAlive, Version: "test", Head: l.seq}}
	if from > 1 {
		b.PrevHash = l.events[from-2].Hash
	}
	return b
}

// Tick moves the log's clock on.
func (l *ShipLog) Tick(d time.Duration) { l.now = l.now.Add(d) }

// Now is the time the next event gets.
func (l *ShipLog) Now() time.Time { return l.now }

// add writes one event: its body in the journal's format, its hash.
func (l *ShipLog) add(entry uint64, kind gateway.EventKind, actor, reason string, from, to gateway.State, data []byte) gateway.Event {
	l.seq++
	l.now = l.now.Add(time.Millisecond)
	b := []byte(`{"seq":` + strconv.FormatUint(l.seq, 10))
	if entry != 0 {
		b = append(b, `,"entry":`+strconv.FormatUint(entry, 10)...)
	}
	b = append(b, `,"kind":`...)
	b = gateway.AppendJSONString(b, string(kind))
	b = append(b, `,"time":`...)
	b = gateway.AppendJSONString(b, l.now.In(l.Loc).Format(gateway.WallClockLayout))
	b = append(b, `,"time_utc":`...)
	b = gateway.AppendJSONString(b, l.now.Format(time.RFC3339Nano))
	for _, f := range [...]struct{ k, v string }{{"actor", actor}, {"reason", reason}, {"from", string(from)}, {"to", string(to)}} {
		if f.v != "" {
			b = append(b, `,"`+f.k+`":`...)
			b = gateway.AppendJSONString(b, f.v)
		}
	}
	if len(data) > 0 && string(data) != "{}" {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	b = append(b, '}')
	h := sha256.New()
	h.Write(l.prev[:])
	h.Write(b)
	var sum [32]byte
	h.Sum(sum[:0])
	l.prev = sum
	local, _ := time.Parse(gateway.WallClockLayout, l.now.In(l.Loc).Format(gateway.WallClockLayout))
	e := gateway.Event{Seq: l.seq, Entry: gateway.EntryID(entry), Kind: kind, Time: l.now, Local: local, Actor: actor, Reason: reason,
		From: from, To: to, Data: json.RawMessage(data), Hash: sum, Body: b}
	l.events = append(l.events, e)
	return e
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("gatewaytest: %v", err)) // only our own values
	}
	return b
}

// Capture journals a raw record: a new entry, captured.
func (l *ShipLog) Capture(raw string) gateway.EntryID {
	l.entry++
	received := l.now
	l.add(l.entry, gateway.EventCaptured, "", "", "", gateway.StateCaptured,
		mustJSON(map[string]any{"raw": raw, "received": received.Format(time.RFC3339Nano), "source": "pbx"}))
	id := gateway.EntryID(l.entry)
	l.Want[id] = &ShipWant{State: gateway.StateCaptured}
	ev := l.events[len(l.events)-1]
	l.Entries[id] = &gateway.Entry{ID: id, State: gateway.StateCaptured, Time: received, Raw: gateway.RawRecord{Received: received, Source: "pbx"},
		Updated: ev.Time, History: []gateway.StateChange{{Seq: ev.Seq, Time: ev.Time, Local: ev.Local, To: gateway.StateCaptured}}}
	return id
}

// Replay journals a replay of an entry's record.
func (l *ShipLog) Replay(id gateway.EntryID) {
	ev := l.add(uint64(id), gateway.EventReplayed, "", "", "", "", nil)
	e := l.Entries[id]
	e.Replays++
	e.Updated = ev.Time
}

// ShipMove is one move for Move: the facts it brings.
type ShipMove struct {
	To          gateway.State
	Actor       string
	Reason      string
	Call        *gateway.Call
	Charge      *gateway.Charge
	Room        string
	Reservation string
	Posting     uint32
	Answer      string
}

// Move journals a move of entry id.
func (l *ShipLog) Move(id gateway.EntryID, m ShipMove) {
	w := l.Want[id]
	d := map[string]any{}
	if m.Call != nil {
		d["call"] = m.Call
		w.Extension = m.Call.Extension
	}
	if m.Charge != nil {
		d["charge"] = m.Charge
		w.TotalMinor, w.Currency = m.Charge.TotalMinor, m.Charge.Currency
	}
	if m.Room != "" {
		d["room"] = m.Room
		w.Room = m.Room
	}
	if m.Reservation != "" {
		d["reservation"] = m.Reservation
	}
	if m.Posting != 0 {
		d["posting"] = m.Posting
		w.Posting = m.Posting
	}
	if m.Answer != "" {
		d["answer"] = map[string]string{"code": m.Answer}
		w.Answer = m.Answer
	}
	if m.To == gateway.StateQueued && (w.State == gateway.StateReposted || w.State == gateway.StateTransferred) && m.Posting == 0 {
		w.Posting = 0
	}
	from := w.State
	ev := l.add(uint64(id), gateway.EventMoved, m.Actor, m.Reason, from, m.To, mustJSON(d))
	w.State = m.To
	e := l.Entries[id]
	e.State, e.Updated = m.To, ev.Time
	if m.Call != nil {
		c := *m.Call
		c.Raw = nil
		e.Call = &c
		if !c.StartUTC.IsZero() {
			e.Time = c.StartUTC
		}
	}
	if m.Charge != nil {
		ch := *m.Charge
		e.Charge = &ch
	}
	if m.Room != "" {
		e.Room = m.Room
	}
	if m.Reservation != "" {
		e.Reservation = m.Reservation
	}
	e.Posting = w.Posting
	if m.To == gateway.StateSent {
		e.Sent = ev.Time
	}
	if m.Answer != "" {
		e.Answer = &gateway.Answer{Code: m.Answer, Time: ev.Time}
	}
	e.History = append(e.History, gateway.StateChange{Seq: ev.Seq, Time: ev.Time, Local: ev.Local, From: from, To: m.To, Actor: m.Actor, Reason: m.Reason})
}

// OldGuest journals a guest event as journals before schema 4 wrote them:
// its data holds the guest's personal data beside the stay (data is the
// event's "data" object).
// The log counts as written before schema 4 up to it (SealableUpto).
func (l *ShipLog) OldGuest(data map[string]any) gateway.Event {
	e := l.add(0, gateway.EventGuest, "", "", "", "", mustJSON(data))
	l.SealableUpto = e.Seq
	return e
}

// Sealed is the batch from..to with its guest events sealed as a property
// that does not ship guest data sends them (docs/central.md, "Guest
// data"): no body, the data without the guest's personal data.
func (l *ShipLog) Sealed(from, to uint64) gateway.ShipBatch {
	b := l.Batch(from, to)
	for i := range b.Events {
		e := &b.Events[i]
		if e.Kind != gateway.EventGuest {
			continue
		}
		if data, personal, err := gateway.SealGuestData(e.Data); err == nil && personal {
			e.Data, e.Body, e.Sealed = data, nil, true
		}
	}
	return b
}

// Audit journals an audit record.
func (l *ShipLog) Audit(actor, action, reason string, detail map[string]string) {
	l.add(0, gateway.EventAudit, actor, reason, "", "", mustJSON(map[string]any{"action": action, "detail": detail}))
}

// PostedCall journals a whole call posted by the PMS: captured, rated,
// queued to room, sent under the next posting number, answered OK. n
// varies the call.
func (l *ShipLog) PostedCall(n int, room string, totalMinor int64) gateway.EntryID {
	id := l.Capture(fmt.Sprintf("%05d 0%03d 00:0%d:1%d 00442079460%03d", n, 200+n%50, n%10, n%10, n%1000))
	start := l.now.Add(-time.Minute).Truncate(time.Second)
	ls, _ := time.Parse(gateway.WallClockLayout, start.In(l.Loc).Format(gateway.WallClockLayout))
	call := &gateway.Call{Format: "test", Extension: strconv.Itoa(200 + n%50), Dialed: fmt.Sprintf("00442079460%03d", n%1000),
		Start: ls, StartUTC: start, DurationS: 60 + n%120, Direction: gateway.Outgoing, Trunk: "1"}
	charge := &gateway.Charge{Class: "international", Destination: "United Kingdom", Band: "peak", BillableS: 120, Chargeable: true,
		CarrierMinor: totalMinor / 2, MarkupMinor: totalMinor - totalMinor/2, TotalMinor: totalMinor, Currency: "EUR", TariffVersion: "base"}
	l.Move(id, ShipMove{To: gateway.StateRated, Call: call, Charge: charge})
	l.Move(id, ShipMove{To: gateway.StateQueued, Room: room})
	l.posting++
	l.Move(id, ShipMove{To: gateway.StateSent, Posting: l.posting})
	l.Move(id, ShipMove{To: gateway.StatePosted, Answer: "OK"})
	return id
}
