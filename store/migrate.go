package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

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
	d := gateway.NewCompactReader(string(b[1:]))
	r := &recV1{rec: rec{id: id}}
	posting := r.readHead(&d)
	r.rawSeq = d.Uvarint()
	r.callSeq = d.Uvarint()
	r.chargeSeq = d.Uvarint()
	r.readCounters(&d)
	if !d.Done() || posting > 1<<32-1 {
		return nil, errRecord
	}
	return r, nil
}

// migrateRecords rewrites every entry record still in the schema-1 layout
// in the schema-2 one, filling in the raw record, call and charge from the
// events schema 1 pointed to. The indices do not change. prepareRecords has
// normally done the work already, in steps; this finishes what is left in
// the transaction that records schema 2.
func migrateRecords(tx *bolt.Tx, _ *Journal) error {
	var after []byte
	for {
		last, _, err := convertRecords(tx, after, 10_000)
		if err != nil || last == nil {
			return err
		}
		after = last
	}
}

// recordsPerStep is how many entry records prepareRecords converts in one
// transaction: a bounded amount of memory, whatever the journal's size.
var recordsPerStep = 20_000

// prepareRecords converts the schema-1 entry records in transactions of
// recordsPerStep each, so that upgrading a journal of millions of entries
// never holds them all in memory. Until the last step records schema 2 the
// journal stays schema 1, with some records converted: an upgrade cut short
// (the machine stopped) goes on where it was at the next start, skipping
// the records converted already.
func prepareRecords(j *Journal) error {
	var after []byte
	for {
		var last []byte
		err := j.db.Update(func(tx *bolt.Tx) error {
			var err error
			last, _, err = convertRecords(tx, after, recordsPerStep)
			return err
		})
		if err != nil || last == nil {
			return err
		}
		after = last
		j.log.Debug().Uint64("entry", u64(last)).Msg("journal upgrade: entry records converted up to here")
	}
}

// convertRecords converts up to max schema-1 entry records after the key
// after (from the first when nil), and returns the last key it looked at
// (nil when there were none left) and how many it converted.
func convertRecords(tx *bolt.Tx, after []byte, max int) ([]byte, int, error) {
	entries, events := tx.Bucket(bEntries), tx.Bucket(bEvents)
	if entries == nil || events == nil {
		return nil, 0, fmt.Errorf("bucket entries or events is missing")
	}
	// Rewritten records only grow and keys do not change: fill pages.
	entries.FillPercent = 0.95
	// bbolt forbids changing a bucket under a cursor: read a batch, write
	// it.
	type kv struct{ k, v []byte }
	var batch []kv
	var last []byte
	c := entries.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for ; k != nil && len(batch) < max; k, v = c.Next() {
		last = clone(k)
		if len(v) > 0 && v[0] == recVersion {
			continue // converted by an earlier step
		}
		batch = append(batch, kv{last, clone(v)})
	}
	for _, p := range batch {
		id := u64(p.k)
		r, err := convertRecord(events, id, p.v)
		if err != nil {
			return nil, 0, fmt.Errorf("entry %d: %w: restore the journal from a backup, or repair it with the callgate that wrote it (gateway journal rebuild) and start this one again", id, err)
		}
		if err := entries.Put(p.k, r.encode()); err != nil {
			return nil, 0, err
		}
	}
	return last, len(batch), nil
}

// convertRecord reads a schema-1 entry record and the events it points to.
func convertRecord(events *bolt.Bucket, id uint64, v []byte) (*rec, error) {
	old, err := decodeRecV1(id, v)
	if err != nil {
		return nil, err
	}
	r := old.rec
	// An imported entry's raw record, call and charge are in one event:
	// read each event once.
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
		return nil, fmt.Errorf("its raw record (event %d): %w", old.rawSeq, err)
	}
	r.raw, r.received, r.source, r.truncated, r.cut = ev.raw, micros(ev.received), gateway.CanonicalText(ev.source), ev.truncated, ev.cut
	if old.callSeq != 0 {
		if ev, err = read(old.callSeq); err != nil {
			return nil, fmt.Errorf("its call (event %d): %w", old.callSeq, err)
		} else if ev.call == nil {
			return nil, fmt.Errorf("its call (event %d) is missing from the event", old.callSeq)
		}
		r.call = gateway.CanonicalCall(ev.call)
	}
	if old.chargeSeq != 0 {
		if ev, err = read(old.chargeSeq); err != nil {
			return nil, fmt.Errorf("its charge (event %d): %w", old.chargeSeq, err)
		} else if ev.charge == nil {
			return nil, fmt.Errorf("its charge (event %d) is missing from the event", old.chargeSeq)
		}
		r.charge = canonCharge(ev.charge)
	}
	return &r, nil
}

// Schema 3 → 4: a guest's personal data (language, VIP, group, no-post flag,
// class of service) leaves the stays in bucket "rooms" for the guest record
// beside the log (bucket "names"), where the names are: guest events no
// longer carry it, so a stay projected from the log cannot hold it
// (docs/journal.md, "Guest records"). Events written before keep their
// fields (events are never rewritten); the projection ignores them.

// stayV3 is a stay as schema 3 keeps it.
type stayV3 struct {
	stay
	Language       string `json:"language,omitempty"`
	VIP            string `json:"vip,omitempty"`
	Group          string `json:"group,omitempty"`
	NoPost         bool   `json:"no_post,omitempty"`
	ClassOfService string `json:"class_of_service,omitempty"`
}

// kSealable is the meta key holding the last event written before schema
// 4 (absent in a journal created at schema 4: none): the guest events up
// to it may hold personal data and may be shipped sealed, and the central
// refuses a sealed event above it (docs/central.md, "Guest data").
var kSealable = []byte("sealable_upto")

// migrateGuestRecords copies each stay's personal data into its guest
// record (making one where the stay has data and no record) and rewrites
// the stays without it. It records the last event written before schema 4
// (kSealable).
func migrateGuestRecords(tx *bolt.Tx, j *Journal) error {
	rooms, nb, meta, events := tx.Bucket(bRooms), tx.Bucket(bNames), tx.Bucket(bMeta), tx.Bucket(bEvents)
	if rooms == nil || nb == nil || meta == nil || events == nil {
		return fmt.Errorf("bucket rooms, names, meta or events is missing")
	}
	if err := meta.Put(kSealable, be64(events.Sequence())); err != nil {
		return err
	}
	stamp := j.now().Format(time.RFC3339Nano)
	type kv struct{ k, v []byte }
	var out []kv
	err := rooms.ForEach(func(k, v []byte) error {
		var old []stayV3
		if err := json.Unmarshal(v, &old); err != nil {
			return fmt.Errorf("room %s: its stays cannot be read (%v): repair the journal with the callgate that wrote it (gateway journal rebuild rebuilds the stays from the log) and start this one again, or restore it from a backup (the copy %s.schemaN.bak beside it is the file as it was before this upgrade)", k, err, j.path)
		}
		list := make([]stay, len(old))
		for i, s := range old {
			list[i] = s.stay
			p := personal{s.Language, s.VIP, s.Group, s.NoPost, s.ClassOfService}
			key := nameKey(string(k), s.Reservation)
			var rec guestRecord
			rv := nb.Get(key)
			if rv == nil && p == (personal{}) {
				continue
			}
			if rv != nil {
				if err := json.Unmarshal(rv, &rec); err != nil {
					rec = guestRecord{Updated: stamp} // damaged: the stay's data replaces it
				}
			} else {
				rec.Updated = stamp
			}
			rec.setPersonal(p)
			if err := putJSON(nb, key, rec); err != nil {
				return err
			}
		}
		b, err := json.Marshal(list)
		if err != nil {
			return err
		}
		out = append(out, kv{clone(k), b})
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range out {
		if err := rooms.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}
