package store

import (
	"encoding/binary"
	"errors"

	"callgate/gateway"
)

// rec is an entry's projection as bucket "entries" keeps it: its state and
// the keys of its indices, and the sequence numbers of the events that hold
// its raw record, call and charge (which are not copied).
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
	rawSeq      uint64 // the captured or imported event
	callSeq     uint64 // the event with the current call, 0 for none
	chargeSeq   uint64 // the event with the current charge, 0 for none
	replays     uint64
	updated     int64 // µs of the last event
	lastSeq     uint64
}

const recVersion = 1

func (r *rec) encode() []byte {
	b := make([]byte, 0, 64+len(r.state)+len(r.ext)+len(r.room)+len(r.reservation)+len(r.answerCode)+len(r.answerText))
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
	b = binary.AppendUvarint(b, r.rawSeq)
	b = binary.AppendUvarint(b, r.callSeq)
	b = binary.AppendUvarint(b, r.chargeSeq)
	b = binary.AppendUvarint(b, r.replays)
	b = binary.AppendVarint(b, r.updated)
	b = binary.AppendUvarint(b, r.lastSeq)
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errRecord = errors.New("entry record is damaged")

// decodeRec reads an entry record; a damaged one is an error, never a panic.
func decodeRec(id uint64, b []byte) (*rec, error) {
	if len(b) == 0 || b[0] != recVersion {
		return nil, errRecord
	}
	d := recDecoder{b: b[1:]}
	r := &rec{id: id}
	r.state = gateway.State(d.str())
	r.time = d.varint()
	r.ext = d.str()
	r.room = d.str()
	r.reservation = d.str()
	r.posting = uint32(d.uvarint())
	r.sent = d.varint()
	r.answerCode = d.str()
	r.answerText = d.str()
	r.answerAt = d.varint()
	r.rawSeq = d.uvarint()
	r.callSeq = d.uvarint()
	r.chargeSeq = d.uvarint()
	r.replays = d.uvarint()
	r.updated = d.varint()
	r.lastSeq = d.uvarint()
	if d.bad {
		return nil, errRecord
	}
	return r, nil
}

type recDecoder struct {
	b   []byte
	bad bool
}

func (d *recDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
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
