package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// Schema 1 → 2: entry records carry their raw record and a compact copy of
// their call and charge, instead of the sequence numbers of the events that
// hold them, so that listing entries decodes no event.

// recV1 is a schema-1 entry record: rec's fields up to lastSeq, with the
// sequence numbers of the events holding the raw record, call and charge.
type recV1 struct {
	rec
	rawSeq, callSeq, chargeSeq uint64
}

// decodeRecV1 reads a schema-1 entry record.
func decodeRecV1(id uint64, b []byte) (*recV1, error) {
	if len(b) == 0 || b[0] != 1 {
		return nil, errRecord
	}
	d := recDecoder{s: string(b[1:])}
	r := &recV1{rec: rec{id: id}}
	r.state = gateway.State(d.str())
	r.time = d.varint()
	r.ext = d.str()
	r.room = d.str()
	r.reservation = d.str()
	posting := d.uvarint()
	r.posting = uint32(posting)
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
	if d.bad || len(d.s) != 0 || posting > 1<<32-1 {
		return nil, errRecord
	}
	return r, nil
}

// migrateRecords rewrites every entry record in the schema-2 layout, filling
// in the raw record, call and charge from the events schema 1 pointed to.
// The indices do not change.
func migrateRecords(tx *bolt.Tx, _ *Journal) error {
	entries, events := tx.Bucket(bEntries), tx.Bucket(bEvents)
	if entries == nil || events == nil {
		return fmt.Errorf("bucket entries or events is missing")
	}
	// bbolt forbids changing a bucket under a cursor: read a batch, write
	// it, go on after it.
	type kv struct{ k, v []byte }
	var after []byte
	for {
		var batch []kv
		c := entries.Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(batch) < 10000; k, v = c.Next() {
			batch = append(batch, kv{clone(k), clone(v)})
		}
		if len(batch) == 0 {
			return nil
		}
		for _, p := range batch {
			id := u64(p.k)
			old, err := decodeRecV1(id, p.v)
			if err != nil {
				return fmt.Errorf("entry %d: %w", id, err)
			}
			r := old.rec
			// An imported entry's raw record, call and charge are in one
			// event: read each event once.
			var last *event
			read := func(seq uint64) (*event, error) {
				if last != nil && last.seq == seq {
					return last, nil
				}
				ev, err := readEvent(events, seq)
				if err == nil && ev.seq != seq {
					err = fmt.Errorf("event %d says it is event %d", seq, ev.seq)
				}
				last = ev
				return ev, err
			}
			ev, err := read(old.rawSeq)
			if err != nil {
				return fmt.Errorf("entry %d: %w", id, err)
			}
			r.raw, r.received, r.source, r.truncated, r.cut = ev.raw, micros(ev.received), canonStr(ev.source), ev.truncated, ev.cut
			if old.callSeq != 0 {
				if ev, err = read(old.callSeq); err != nil || ev.call == nil {
					return fmt.Errorf("entry %d: the call of event %d: %v", id, old.callSeq, err)
				}
				r.call = canonCall(ev.call)
			}
			if old.chargeSeq != 0 {
				if ev, err = read(old.chargeSeq); err != nil || ev.charge == nil {
					return fmt.Errorf("entry %d: the charge of event %d: %v", id, old.chargeSeq, err)
				}
				r.charge = canonCharge(ev.charge)
			}
			if err := entries.Put(p.k, r.encode()); err != nil {
				return err
			}
		}
		after = batch[len(batch)-1].k
	}
}
