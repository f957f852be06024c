package store

import (
	"encoding/binary"
	"errors"

	"callgate/gateway"
)

// rec is an entry's projection as bucket "entries" keeps it: its state, the
// keys of its indices, its raw record, and a compact copy of its current call
// and charge, so that reading an entry decodes no event (schema 2; schema 1
// kept the sequence numbers of the events holding these instead).
//
// The call and charge are kept as a rebuild reads them from the events'
// JSON (canonCall, canonCharge), so that a live write and a rebuild store
// the same bytes.
type rec struct {
	id          uint64
	state       gateway.State
	time        int64 // µs: call start (UTC), or read time before a parse
	ext         string
	room        string
	reservation string
	posting     uint32
	sent        int64
	answerCode  string
	answerText  string
	answerAt    int64
	replays     uint64
	updated     int64 // µs of the last event
	lastSeq     uint64

	// The raw record, from the captured or imported event.
	raw       []byte
	received  int64 // µs
	source    string
	truncated bool
	cut       bool

	call   *gateway.Call // the current call without Raw, nil for none
	charge *gateway.Charge
}

const recVersion = 2

// Flags of a record and of its call.
const (
	flagTruncated = 1 << iota
	flagCut
)

func (r *rec) encode() []byte {
	b := make([]byte, 0, 160+len(r.state)+len(r.ext)+len(r.room)+len(r.reservation)+len(r.answerCode)+len(r.answerText)+len(r.raw)+len(r.source))
	b = append(b, recVersion)
	b = appendStr(b, string(r.state))
	b = binary.AppendVarint(b, r.time)
	b = appendStr(b, r.ext)
	b = appendStr(b, r.room)
	b = appendStr(b, r.reservation)
	b = binary.AppendUvarint(b, uint64(r.posting))
	b = binary.AppendVarint(b, r.sent)
	b = appendStr(b, r.answerCode)
	b = appendStr(b, r.answerText)
	b = binary.AppendVarint(b, r.answerAt)
	b = binary.AppendUvarint(b, r.replays)
	b = binary.AppendVarint(b, r.updated)
	b = binary.AppendUvarint(b, r.lastSeq)
	b = binary.AppendUvarint(b, uint64(len(r.raw)))
	b = append(b, r.raw...)
	b = binary.AppendVarint(b, r.received)
	b = appendStr(b, r.source)
	var flags byte
	if r.truncated {
		flags |= flagTruncated
	}
	if r.cut {
		flags |= flagCut
	}
	b = append(b, flags)
	b = appendCall(b, r.call)
	return appendCharge(b, r.charge)
}

// appendCall appends the compact form of c: 0 for none, or 1 and the
// call's compact form (gateway.AppendCallCompact).
func appendCall(b []byte, c *gateway.Call) []byte {
	if c == nil {
		return append(b, 0)
	}
	return gateway.AppendCallCompact(append(b, 1), c)
}

// appendCharge appends the compact form of c: 0 for none, or 1 and its
// fields.
func appendCharge(b []byte, c *gateway.Charge) []byte {
	if c == nil {
		return append(b, 0)
	}
	var flags byte
	if c.Chargeable {
		flags |= 1
	}
	if c.Exception != nil {
		flags |= 2
	}
	b = append(b, 1, flags)
	for _, s := range [...]string{c.Class, c.Destination, c.Prefix, c.E164, c.Band} {
		b = appendStr(b, s)
	}
	b = binary.AppendVarint(b, int64(c.BillableS))
	for _, n := range [...]int64{c.CarrierMinor, c.MarkupMinor, c.SurchargeMinor, c.TaxMinor, c.TotalMinor} {
		b = binary.AppendVarint(b, n)
	}
	b = appendStr(b, c.Currency)
	b = appendStr(b, c.TariffVersion)
	if c.Exception != nil {
		b = appendStr(b, *c.Exception)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errRecord = errors.New("entry record is damaged")

// decodeRec reads an entry record; a damaged one is an error, never a panic.
// Nothing it returns shares memory with b.
func decodeRec(id uint64, b []byte) (*rec, error) {
	r := &rec{}
	if err := r.decode(id, string(b), &arena{chunk: 1}); err != nil {
		return nil, err
	}
	return r, nil
}

// rawOf returns the raw record of an entry record without decoding the
// rest; false when the record is damaged.
func rawOf(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] != recVersion {
		return nil, false
	}
	b = b[1:]
	// state, time, ext, room, reservation, posting, sent, answer code and
	// text, answer time, replays, updated, last seq: strings are a length
	// and bytes, numbers a varint.
	for _, str := range [...]bool{true, false, true, true, true, false, false, true, true, false, false, false, false} {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, false
		}
		b = b[k:]
		if str {
			if n > uint64(len(b)) {
				return nil, false
			}
			b = b[n:]
		}
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, false
	}
	return b[k : k+int(n)], true
}

// arena hands out the memory of many decoded records at once: a listing of
// thousands of entries costs a few allocations, not several per entry.
type arena struct {
	chunk   int // calls and charges per allocation (0: see size)
	raw     []byte
	calls   []gateway.Call
	charges []gateway.Charge
}

// reset lets the arena hand out its last allocations again: what it handed
// out before must no longer be used.
func (a *arena) reset() {
	clear(a.calls)
	clear(a.charges)
	a.raw, a.calls, a.charges = a.raw[:0], a.calls[:0], a.charges[:0]
}

func (a *arena) bytes(s string) []byte {
	if len(s) == 0 {
		return nil
	}
	if len(a.raw)+len(s) > cap(a.raw) {
		grow := 2 * cap(a.raw)
		if a.chunk == 0 {
			grow = min(grow, 64<<10) // one listing: no slab too large
		}
		a.raw = make([]byte, 0, max(grow, 1024, len(s)))
	}
	n := len(a.raw)
	a.raw = append(a.raw, s...)
	return a.raw[n:len(a.raw):len(a.raw)]
}

// size is the length of a new slab after one of last: chunk, or from 16
// doubling up to 1,024, so that a short listing allocates little.
func (a *arena) size(last int) int {
	if a.chunk > 0 {
		return a.chunk
	}
	return min(max(16, 2*last), 1024)
}

func (a *arena) call() *gateway.Call {
	if len(a.calls) == cap(a.calls) {
		a.calls = make([]gateway.Call, 0, a.size(cap(a.calls)))
	}
	a.calls = a.calls[:len(a.calls)+1]
	return &a.calls[len(a.calls)-1]
}

func (a *arena) charge() *gateway.Charge {
	if len(a.charges) == cap(a.charges) {
		a.charges = make([]gateway.Charge, 0, a.size(cap(a.charges)))
	}
	a.charges = a.charges[:len(a.charges)+1]
	return &a.charges[len(a.charges)-1]
}

// decode reads an entry record from s (its bytes, as one string the record's
// strings share) into r, taking memory from a (nil: allocate).
func (r *rec) decode(id uint64, s string, a *arena) error {
	if len(s) == 0 || s[0] != recVersion {
		return errRecord
	}
	if a == nil {
		a = &arena{}
	}
	d := gateway.NewCompactReader(s[1:])
	*r = rec{id: id}
	posting := r.readHead(&d)
	r.readCounters(&d)
	r.raw = a.bytes(d.Str())
	r.received = d.Varint()
	r.source = d.Str()
	flags := d.Byte()
	r.truncated, r.cut = flags&flagTruncated != 0, flags&flagCut != 0
	switch d.Byte() {
	case 0:
	case 1:
		r.call = a.call()
		gateway.DecodeCallCompact(&d, r.call)
	default:
		d.Fail()
	}
	switch d.Byte() {
	case 0:
	case 1:
		r.charge = decodeCharge(&d, a.charge())
	default:
		d.Fail()
	}
	if !d.Done() || posting > 1<<32-1 || flags&^(flagTruncated|flagCut) != 0 {
		*r = rec{}
		return errRecord
	}
	return nil
}

// readHead reads the fields every schema's record starts with, state to
// answer time, and returns the posting number as stored (a record whose
// number does not fit 32 bits is damaged).
func (r *rec) readHead(d *gateway.CompactReader) (posting uint64) {
	r.state = gateway.State(d.Str())
	r.time = d.Varint()
	r.ext = d.Str()
	r.room = d.Str()
	r.reservation = d.Str()
	posting = d.Uvarint()
	r.posting = uint32(posting)
	r.sent = d.Varint()
	r.answerCode = d.Str()
	r.answerText = d.Str()
	r.answerAt = d.Varint()
	return posting
}

// readCounters reads replays, the last update and the last sequence number.
func (r *rec) readCounters(d *gateway.CompactReader) {
	r.replays = d.Uvarint()
	r.updated = d.Varint()
	r.lastSeq = d.Uvarint()
}

// decodeCharge reads a charge's compact form from d into c.
func decodeCharge(d *gateway.CompactReader, c *gateway.Charge) *gateway.Charge {
	flags := d.Byte()
	if flags > 3 {
		d.Fail()
	}
	*c = gateway.Charge{Class: d.Str(), Destination: d.Str(), Prefix: d.Str(), E164: d.Str(), Band: d.Str()}
	c.BillableS = int(d.Varint())
	c.Chargeable = flags&1 != 0
	c.CarrierMinor = d.Varint()
	c.MarkupMinor = d.Varint()
	c.SurchargeMinor = d.Varint()
	c.TaxMinor = d.Varint()
	c.TotalMinor = d.Varint()
	c.Currency = d.Str()
	c.TariffVersion = d.Str()
	if flags&2 != 0 {
		e := d.Str()
		c.Exception = &e
	}
	return c
}

// canonCharge is gateway.CanonicalCall for a charge.
func canonCharge(c *gateway.Charge) *gateway.Charge {
	if c == nil {
		return nil
	}
	out := *c
	for _, s := range []*string{&out.Class, &out.Destination, &out.Prefix, &out.E164, &out.Band, &out.Currency, &out.TariffVersion} {
		*s = gateway.CanonicalText(*s)
	}
	if c.Exception != nil {
		e := gateway.CanonicalText(*c.Exception)
		out.Exception = &e
	}
	return &out
}

// indexKeys returns the entry's keys in by_time, by_state, by_room and
// by_ext (nil where it has none).
func (r *rec) indexKeys() [4][]byte {
	var k [4][]byte
	k[0] = timeIDKey(r.time, r.id)
	k[1] = prefixed(string(r.state), r.time, r.id)
	if r.room != "" {
		k[2] = prefixed(r.room, r.time, r.id)
	}
	if r.ext != "" {
		k[3] = prefixed(r.ext, r.time, r.id)
	}
	return k
}
