package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"callgate/gateway"
)

// event is one event of the log, decoded. Writers fill it, encode it with
// encode and append it; Rebuild and Verify decode it from the log. apply
// works from this form only, so both paths project the same way.
type event struct {
	seq           uint64
	entry         uint64
	kind          gateway.EventKind
	at            time.Time // UTC, microseconds
	local         time.Time // wall clock of at in the site's zone (decoded events only)
	actor, reason string
	from, to      gateway.State

	// captured, imported, replayed
	raw       []byte
	received  time.Time
	source    string
	truncated bool
	cut       bool
	// moved, imported
	call              *gateway.Call
	charge            *gateway.Charge
	room, reservation string
	posting           uint32 // a posting number given by this event
	answer            *gateway.Answer

	guest  *guestData
	audit  *gateway.AuditRecord
	pruned *prunedData
}

// dataJSON is the "data" object of every kind of event; each kind uses some
// of its keys.
type dataJSON struct {
	Raw         *string         `json:"raw,omitempty"`
	RawBase64   string          `json:"raw_base64,omitempty"`
	Received    string          `json:"received,omitempty"`
	Source      string          `json:"source,omitempty"`
	Truncated   bool            `json:"truncated,omitempty"`
	Cut         bool            `json:"cut,omitempty"`
	Call        *gateway.Call   `json:"call,omitempty"`
	Charge      *gateway.Charge `json:"charge,omitempty"`
	Room        string          `json:"room,omitempty"`
	Reservation string          `json:"reservation,omitempty"`
	Posting     uint32          `json:"posting,omitempty"`
	Answer      *answerJSON     `json:"answer,omitempty"`

	// Embedded by value: encoding/json cannot fill embedded pointers to
	// unexported types. Every key is omitted when empty.
	guestData
	Action string            `json:"action,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
	prunedData
}

type answerJSON struct {
	Code string `json:"code"`
	Text string `json:"text,omitempty"`
}

// guestData is a guest event as the log keeps it: the stay, without the
// guest's names and personal data (those are in the guest record beside the
// log, guest.go). The room and reservation are the event's room and
// reservation. Language, VIP, Group, NoPost and ClassOfService are only
// read, from events written before schema 4; the projection ignores them.
type guestData struct {
	Event          gateway.GuestEventKind `json:"event,omitempty"`
	Shared         bool                   `json:"shared,omitempty"`
	Language       string                 `json:"language,omitempty"`
	VIP            string                 `json:"vip,omitempty"`
	Group          string                 `json:"group,omitempty"`
	Arrival        string                 `json:"arrival,omitempty"`
	Departure      string                 `json:"departure,omitempty"`
	NoPost         bool                   `json:"no_post,omitempty"`
	ClassOfService string                 `json:"class_of_service,omitempty"`
	// Fields is the fields the PMS sent, by their stored names (see
	// storedFields); none for an event carrying every field.
	Fields        []string `json:"fields,omitempty"`
	OldRoom       string   `json:"old_room,omitempty"`
	OldRoomShared bool     `json:"old_room_shared,omitempty"`
	Resync        bool     `json:"resync,omitempty"`
	// Partial marks a resync's end that was not the PMS's end mark: the
	// stays it did not see stay (docs/fias.md, "Resync").
	Partial bool   `json:"partial,omitempty"`
	PMSTime string `json:"pms_time,omitempty"`

	// carried is the guest fields the event carries, read from Fields.
	carried gateway.GuestFields
}

// storedFields names the guest fields in a stored guest event's "fields":
// FIAS's field ids, as the journal has written them from the start. The
// journal keeps these names so that events written before guest events had
// typed fields, and after, read alike with any version.
var storedFields = [...]struct {
	field gateway.GuestFields
	name  string
}{
	{gateway.FieldShared, "GS"}, {gateway.FieldLastName, "GN"}, {gateway.FieldFirstName, "GF"}, {gateway.FieldTitle, "GT"},
	{gateway.FieldLanguage, "GL"}, {gateway.FieldVIP, "GV"}, {gateway.FieldGroup, "GG"}, {gateway.FieldArrival, "GA"},
	{gateway.FieldDeparture, "GD"}, {gateway.FieldNoPost, "NP"}, {gateway.FieldClassOfService, "CS"},
}

// Stored names of the room and reservation number: a list with only these
// says the event carries none of the guest fields (an empty list would mean
// every one).
const storedRoom, storedReservation = "RN", "G#"

// carriedFields reads a stored "fields": every guest field when it is
// empty, else those it names (other names, such as FIAS's RN, G#, RO, SF,
// DA, TI in older events, are no guest field).
func carriedFields(names []string) gateway.GuestFields {
	if len(names) == 0 {
		return gateway.AllGuestFields
	}
	var c gateway.GuestFields
	for _, f := range storedFields {
		if slices.Contains(names, f.name) {
			c |= f.field
		}
	}
	return c
}

// storedFieldNames is the stored "fields" of an event for room and
// reservation that carries the guest fields c: none when c is every field;
// else the room's and the reservation's names (so that the list is never
// empty) and those of c.
func storedFieldNames(room, reservation string, c gateway.GuestFields) []string {
	if c == gateway.AllGuestFields {
		return nil
	}
	var names []string
	if room != "" {
		names = append(names, storedRoom)
	}
	if reservation != "" || room == "" {
		names = append(names, storedReservation)
	}
	for _, f := range storedFields {
		if c.Has(f.field) && !recordOnly.Has(f.field) {
			names = append(names, f.name)
		}
	}
	return names
}

// recordOnly are the guest fields only the guest record keeps (names and
// personal data, docs/journal.md, "Guest records"). Since schema 4 a
// stored "fields" does not name them: nothing read from the log uses them
// (the record is written from the PMS's event, not from the log), and
// naming them would tell whoever reads the log — the central — that a
// guest's VIP code or no-post flag changed at that time. A list that
// names only these is stored as the room's and reservation's names alone,
// which still reads as "no stay field" (the empty list keeps meaning
// every field).
const recordOnly = gateway.FieldLastName | gateway.FieldFirstName | gateway.FieldTitle | gateway.FieldLanguage |
	gateway.FieldVIP | gateway.FieldGroup | gateway.FieldNoPost | gateway.FieldClassOfService

// prunedData is what a retention run removed, and the counters at that point
// of the log, so that a rebuild without the removed events ends where the
// journal did.
type prunedData struct {
	Before      string `json:"before,omitempty"`
	Entries     int    `json:"entries,omitempty"`
	Events      int    `json:"events,omitempty"`
	EntriesMax  uint64 `json:"entries_max,omitempty"`
	PostingLast uint32 `json:"posting_last,omitempty"`
	Replays     int64  `json:"replays,omitempty"`
}

// encode returns the event's stored JSON.
func (ev *event) encode(loc *time.Location) ([]byte, error) {
	return ev.appendJSON(nil, loc, nil)
}

// timeCache keeps the last time an event was written with, as JSON: the
// events of one transaction mostly share it.
type timeCache struct {
	at   time.Time
	loc  *time.Location
	json []byte // ,"time":"…","time_utc":"…"
}

// appendJSON appends the event's stored JSON to b.
func (ev *event) appendJSON(b []byte, loc *time.Location, tc *timeCache) ([]byte, error) {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, ev.seq, 10)
	if ev.entry != 0 {
		b = append(b, `,"entry":`...)
		b = strconv.AppendUint(b, ev.entry, 10)
	}
	b = append(b, `,"kind":`...)
	b = gateway.AppendJSONString(b, string(ev.kind))
	if tc == nil {
		tc = &timeCache{}
	}
	if tc.json == nil || !tc.at.Equal(ev.at) || tc.loc != loc {
		t := append(tc.json[:0], `,"time":`...)
		t = gateway.AppendJSONString(t, ev.at.In(loc).Format(gateway.WallClockLayout))
		t = append(t, `,"time_utc":`...)
		t = gateway.AppendJSONString(t, ev.at.UTC().Format(time.RFC3339Nano))
		tc.at, tc.loc, tc.json = ev.at, loc, t
	}
	b = append(b, tc.json...)
	for _, f := range [...]struct{ k, v string }{{"actor", ev.actor}, {"reason", ev.reason}, {"from", string(ev.from)}, {"to", string(ev.to)}} {
		if f.v != "" {
			b = append(b, ',')
			b = gateway.AppendJSONString(b, f.k)
			b = append(b, ':')
			b = gateway.AppendJSONString(b, f.v)
		}
	}
	n := len(b)
	b = append(b, `,"data":`...)
	m := len(b)
	b, err := ev.appendData(b)
	if err != nil {
		return nil, err
	}
	if string(b[m:]) == "{}" {
		b = b[:n]
	}
	return append(b, '}'), nil
}

// appendData appends the event's "data" object. The kinds written for every
// record are written by hand (they are the journal's hot path); the rare
// ones through encoding/json. Both read back through dataJSON.
func (ev *event) appendData(out []byte) ([]byte, error) {
	var data any
	switch ev.kind {
	case gateway.EventGuest:
		data = dataJSON{Room: ev.room, Reservation: ev.reservation, guestData: *ev.guest}
	case gateway.EventAudit:
		data = dataJSON{Action: ev.audit.Action, Detail: ev.audit.Detail}
	case gateway.EventPruned:
		data = dataJSON{prunedData: *ev.pruned}
	}
	if data != nil {
		j, err := json.Marshal(data)
		return append(out, j...), err
	}
	b := append(out, '{')
	first := len(b)
	key := func(k string) {
		if len(b) > first {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	if ev.kind == gateway.EventCaptured || ev.kind == gateway.EventImported {
		if utf8.Valid(ev.raw) {
			key("raw")
			b = gateway.AppendJSONString(b, string(ev.raw))
		} else {
			key("raw_base64")
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, ev.raw)
			b = append(b, '"')
		}
		if ev.truncated {
			key("truncated")
			b = append(b, "true"...)
		}
		if ev.cut {
			key("cut")
			b = append(b, "true"...)
		}
	}
	if !ev.received.IsZero() {
		key("received")
		b = gateway.AppendJSONString(b, ev.received.UTC().Format(time.RFC3339Nano))
	}
	for _, f := range [...]struct{ k, v string }{{"source", ev.source}, {"room", ev.room}, {"reservation", ev.reservation}} {
		if f.v != "" {
			key(f.k)
			b = gateway.AppendJSONString(b, f.v)
		}
	}
	if ev.call != nil {
		key("call")
		b = gateway.AppendCallJSON(b, ev.call, false) // without the raw record: it is in the entry's first event
	}
	if ev.charge != nil {
		key("charge")
		b = appendChargeJSON(b, ev.charge)
	}
	if ev.posting != 0 {
		key("posting")
		b = strconv.AppendUint(b, uint64(ev.posting), 10)
	}
	if ev.answer != nil {
		key("answer")
		b = append(b, `{"code":`...)
		b = gateway.AppendJSONString(b, ev.answer.Code)
		if ev.answer.Text != "" {
			b = append(b, `,"text":`...)
			b = gateway.AppendJSONString(b, ev.answer.Text)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// bodyJSON is an event's stored JSON.
type bodyJSON struct {
	Seq     uint64          `json:"seq"`
	Entry   uint64          `json:"entry"`
	Kind    string          `json:"kind"`
	Time    string          `json:"time"`
	TimeUTC string          `json:"time_utc"`
	Actor   string          `json:"actor"`
	Reason  string          `json:"reason"`
	From    string          `json:"from"`
	To      string          `json:"to"`
	Data    json.RawMessage `json:"data"`
}

// decodeHeader reads an event's envelope without its data.
func decodeHeader(body []byte) (*event, json.RawMessage, error) {
	var b bodyJSON
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, nil, fmt.Errorf("event is not JSON: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, b.TimeUTC)
	if err != nil {
		return nil, nil, fmt.Errorf("event %d: time_utc %q: %w", b.Seq, b.TimeUTC, err)
	}
	local, _ := time.Parse(gateway.WallClockLayout, b.Time)
	return &event{seq: b.Seq, entry: b.Entry, kind: gateway.EventKind(b.Kind), at: at.UTC(), local: local,
		actor: b.Actor, reason: b.Reason, from: gateway.State(b.From), to: gateway.State(b.To)}, b.Data, nil
}

// decodeEvent reads a stored event completely, in one pass over its JSON.
func decodeEvent(body []byte) (*event, error) {
	var b struct {
		bodyJSON
		Data dataJSON `json:"data"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("event cannot be read: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, b.TimeUTC)
	if err != nil {
		return nil, fmt.Errorf("event %d: time_utc %q: %w", b.Seq, b.TimeUTC, err)
	}
	local, _ := time.Parse(gateway.WallClockLayout, b.Time)
	ev := &event{seq: b.Seq, entry: b.Entry, kind: gateway.EventKind(b.Kind), at: at.UTC(), local: local,
		actor: b.Actor, reason: b.Reason, from: gateway.State(b.From), to: gateway.State(b.To)}
	d := &b.Data
	switch {
	case d.Raw != nil:
		ev.raw = []byte(*d.Raw)
	case d.RawBase64 != "":
		if ev.raw, err = base64.StdEncoding.DecodeString(d.RawBase64); err != nil {
			return nil, fmt.Errorf("event %d: raw_base64: %w", ev.seq, err)
		}
	}
	if d.Received != "" {
		if ev.received, err = time.Parse(time.RFC3339Nano, d.Received); err != nil {
			return nil, fmt.Errorf("event %d: received: %w", ev.seq, err)
		}
		ev.received = ev.received.UTC()
	}
	ev.source, ev.truncated, ev.cut = d.Source, d.Truncated, d.Cut
	ev.call, ev.charge = d.Call, d.Charge
	ev.room, ev.reservation, ev.posting = d.Room, d.Reservation, d.Posting
	if d.Answer != nil {
		ev.answer = &gateway.Answer{Code: d.Answer.Code, Text: d.Answer.Text, Time: ev.at}
	}
	switch ev.kind {
	case gateway.EventGuest:
		if d.Event == "" {
			return nil, fmt.Errorf("event %d: guest event without data", ev.seq)
		}
		g := d.guestData
		g.carried = carriedFields(g.Fields)
		ev.guest = &g
	case gateway.EventAudit:
		ev.audit = &gateway.AuditRecord{Actor: ev.actor, Action: d.Action, Reason: ev.reason, Detail: d.Detail}
	case gateway.EventPruned:
		p := d.prunedData
		ev.pruned = &p
	}
	return ev, nil
}

// chainHash is the hash of an event whose predecessor's hash is prev.
func chainHash(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// appendChargeJSON appends c as gateway.Charge's MarshalJSON writes it.
func appendChargeJSON(b []byte, c *gateway.Charge) []byte {
	b = append(b, `{"class":`...)
	b = gateway.AppendJSONString(b, c.Class)
	b = appendOptional(b, `,"destination":`, c.Destination)
	b = appendOptional(b, `,"prefix":`, c.Prefix)
	b = appendOptional(b, `,"e164":`, c.E164)
	b = appendOptional(b, `,"band":`, c.Band)
	b = append(b, `,"billable_s":`...)
	b = strconv.AppendInt(b, int64(c.BillableS), 10)
	if c.Chargeable {
		b = append(b, `,"chargeable":true`...)
	} else {
		b = append(b, `,"chargeable":false`...)
	}
	for _, f := range [...]struct {
		k string
		v int64
	}{{`,"carrier_minor":`, c.CarrierMinor}, {`,"markup_minor":`, c.MarkupMinor}, {`,"surcharge_minor":`, c.SurchargeMinor},
		{`,"tax_minor":`, c.TaxMinor}, {`,"total_minor":`, c.TotalMinor}} {
		b = append(b, f.k...)
		b = strconv.AppendInt(b, f.v, 10)
	}
	b = append(b, `,"currency":`...)
	b = gateway.AppendJSONString(b, c.Currency)
	b = append(b, `,"tariff_version":`...)
	b = gateway.AppendJSONString(b, c.TariffVersion)
	b = append(b, `,"exception":`...)
	if c.Exception == nil {
		b = append(b, "null"...)
	} else {
		b = gateway.AppendJSONString(b, *c.Exception)
	}
	return append(b, '}')
}

// appendOptional appends key and s as a JSON string, or null for "".
func appendOptional(b []byte, key, s string) []byte {
	b = append(b, key...)
	if s == "" {
		return append(b, "null"...)
	}
	return gateway.AppendJSONString(b, s)
}
