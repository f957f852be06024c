package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// readEvent reads and decodes event seq.
func readEvent(events *bolt.Bucket, seq uint64) (*event, error) {
	v := events.Get(be64(seq))
	if len(v) < 32 {
		return nil, fmt.Errorf("event %d is missing", seq)
	}
	return decodeEvent(v[32:])
}

// loadEntry builds an entry from its record and events. Everything it
// returns is copied out of the transaction.
func loadEntry(tx *bolt.Tx, id uint64, history bool) (gateway.Entry, error) {
	v := tx.Bucket(bEntries).Get(be64(id))
	if v == nil {
		return gateway.Entry{}, gateway.Errorf(gateway.KindNotFound, "entry %d does not exist", id)
	}
	r, err := decodeRec(id, v)
	if err != nil {
		return gateway.Entry{}, fmt.Errorf("entry %d: %w", id, err)
	}
	return r.entry(tx, history)
}

func (r *rec) entry(tx *bolt.Tx, history bool) (gateway.Entry, error) {
	e := gateway.Entry{
		ID:          gateway.EntryID(r.id),
		State:       r.state,
		Time:        fromMicros(r.time),
		Room:        r.room,
		Reservation: r.reservation,
		Posting:     r.posting,
		Sent:        fromMicros(r.sent),
		Replays:     int(r.replays),
		Updated:     fromMicros(r.updated),
	}
	if r.answerCode != "" || r.answerAt != 0 {
		e.Answer = &gateway.Answer{Code: r.answerCode, Text: r.answerText, Time: fromMicros(r.answerAt)}
	}
	events := tx.Bucket(bEvents)
	cache := map[uint64]*event{}
	get := func(seq uint64) (*event, error) {
		if ev, ok := cache[seq]; ok {
			return ev, nil
		}
		ev, err := readEvent(events, seq)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", r.id, err)
		}
		cache[seq] = ev
		return ev, nil
	}
	ev, err := get(r.rawSeq)
	if err != nil {
		return e, err
	}
	e.Raw = gateway.RawRecord{Data: ev.raw, Received: ev.received, Source: ev.source, Truncated: ev.truncated, Cut: ev.cut}
	if r.callSeq != 0 {
		ev, err := get(r.callSeq)
		if err != nil {
			return e, err
		}
		c := *ev.call
		c.Raw = e.Raw.Data
		e.Call = &c
	}
	if r.chargeSeq != 0 {
		ev, err := get(r.chargeSeq)
		if err != nil {
			return e, err
		}
		c := *ev.charge
		e.Charge = &c
	}
	if history {
		c := tx.Bucket(bEntryEvents).Cursor()
		prefix := be64(r.id)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := events.Get(k[8:])
			if len(v) < 32 {
				return e, fmt.Errorf("entry %d: event %d is missing", r.id, u64(k[8:]))
			}
			h, _, err := decodeHeader(v[32:])
			if err != nil {
				return e, err
			}
			if h.to == "" {
				continue // a replay: no state change
			}
			e.History = append(e.History, gateway.StateChange{Seq: h.seq, Time: h.at, Local: h.local,
				From: h.from, To: h.to, Actor: h.actor, Reason: h.reason})
		}
	}
	return e, nil
}

// Entry returns one entry with its history; see gateway.Queries.
func (j *Journal) Entry(ctx context.Context, id gateway.EntryID) (gateway.Entry, error) {
	var e gateway.Entry
	err := j.view(ctx, "read an entry", func(tx *bolt.Tx) error {
		var err error
		e, err = loadEntry(tx, uint64(id), true)
		return err
	})
	return e, err
}

// hit is an index key's time and entry.
type hit struct {
	t  int64
	id uint64
}

func (a hit) less(b hit) bool { return a.t < b.t || a.t == b.t && a.id < b.id }

func hitOf(k []byte) hit {
	n := len(k)
	return hit{int64(binary.BigEndian.Uint64(k[n-16:]) ^ 1<<63), binary.BigEndian.Uint64(k[n-8:])}
}

// Entries returns the entries matching f, through an index; see
// gateway.Queries.
func (j *Journal) Entries(ctx context.Context, f gateway.Filter) ([]gateway.Entry, error) {
	for _, s := range f.States {
		if !s.Valid() {
			return nil, gateway.Errorf(gateway.KindInvalid, "%q is not a journal state", s)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return nil, gateway.Errorf(gateway.KindInvalid, "the end of the time range (%s) is before its start (%s)", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	var out []gateway.Entry
	err := j.view(ctx, "list entries", func(tx *bolt.Tx) error {
		q := query{f: f, entries: tx.Bucket(bEntries), from: micros(f.From), to: micros(f.To)}
		if f.After != 0 {
			v := q.entries.Get(be64(uint64(f.After)))
			if v == nil {
				return gateway.Errorf(gateway.KindInvalid, "entry %d, to list after, does not exist", f.After)
			}
			r, err := decodeRec(uint64(f.After), v)
			if err != nil {
				return err
			}
			q.after = &hit{r.time, r.id}
		}
		var recs []*rec
		var err error
		switch {
		case f.Posting != 0:
			recs, err = q.byPosting(tx.Bucket(bByPosting))
		case f.Room != "":
			recs, err = q.scan(tx.Bucket(bByRoom), []byte(f.Room+"\x00"))
		case f.Extension != "":
			recs, err = q.scan(tx.Bucket(bByExt), []byte(f.Extension+"\x00"))
		case len(f.States) > 0:
			for _, s := range slices.Compact(slices.Sorted(slices.Values(f.States))) {
				rs, err := q.scan(tx.Bucket(bByState), []byte(string(s)+"\x00"))
				if err != nil {
					return err
				}
				recs = append(recs, rs...)
			}
			q.sort(recs)
			if f.Limit > 0 && len(recs) > f.Limit {
				recs = recs[:f.Limit]
			}
		default:
			recs, err = q.scan(tx.Bucket(bByTime), nil)
		}
		if err != nil {
			return err
		}
		out = make([]gateway.Entry, 0, len(recs))
		for _, r := range recs {
			e, err := r.entry(tx, f.History)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type query struct {
	f        gateway.Filter
	entries  *bolt.Bucket
	from, to int64 // µs, 0 for open
	after    *hit
}

// match reads an entry's record and checks the filter's fields.
func (q *query) match(h hit) (*rec, bool, error) {
	if q.from != 0 && h.t < q.from || q.to != 0 && h.t >= q.to {
		return nil, false, nil
	}
	v := q.entries.Get(be64(h.id))
	if v == nil {
		return nil, false, fmt.Errorf("index names entry %d, which does not exist: run gateway journal verify", h.id)
	}
	r, err := decodeRec(h.id, v)
	if err != nil {
		return nil, false, fmt.Errorf("entry %d: %w", h.id, err)
	}
	f := q.f
	ok := (len(f.States) == 0 || slices.Contains(f.States, r.state)) &&
		(f.Room == "" || r.room == f.Room) &&
		(f.Extension == "" || r.ext == f.Extension)
	return r, ok, nil
}

// scan walks one index's keys under prefix in the filter's order and time
// range, after q.after, and returns up to Limit matching records.
func (q *query) scan(b *bolt.Bucket, prefix []byte) ([]*rec, error) {
	var out []*rec
	c := b.Cursor()
	full := func(h hit) []byte {
		k := append(slices.Clip(prefix), timeKey(h.t)...)
		return append(k, be64(h.id)...)
	}
	var k []byte
	if !q.f.Newest {
		start := prefix
		if q.from != 0 {
			start = full(hit{q.from, 0})
		}
		if q.after != nil && bytes.Compare(full(*q.after), start) > 0 {
			start = full(*q.after)
		}
		k, _ = c.Seek(start)
	} else {
		var end []byte // exclusive; nil: past the prefix
		if q.to != 0 {
			end = full(hit{q.to, 0})
		}
		if q.after != nil && (end == nil || bytes.Compare(full(*q.after), end) < 0) {
			end = full(*q.after)
		}
		if end == nil && len(prefix) > 0 {
			end = append(slices.Clip(prefix[:len(prefix)-1]), 1) // prefix ends in 0
		}
		if end == nil {
			k, _ = c.Last()
		} else if k, _ = c.Seek(end); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+16; k = q.step(c) {
		h := hitOf(k)
		if q.after != nil && h == *q.after {
			continue
		}
		if !q.f.Newest && q.to != 0 && h.t >= q.to || q.f.Newest && q.from != 0 && h.t < q.from {
			break
		}
		r, ok, err := q.match(h)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
			if q.f.Limit > 0 && len(out) >= q.f.Limit {
				break
			}
		}
	}
	return out, nil
}

func (q *query) step(c *bolt.Cursor) []byte {
	var k []byte
	if q.f.Newest {
		k, _ = c.Prev()
	} else {
		k, _ = c.Next()
	}
	return k
}

func (q *query) sort(recs []*rec) {
	slices.SortFunc(recs, func(a, b *rec) int {
		ha, hb := hit{a.time, a.id}, hit{b.time, b.id}
		switch {
		case ha == hb:
			return 0
		case ha.less(hb) != q.f.Newest:
			return -1
		}
		return 1
	})
}

// byPosting reads every entry that held posting number f.Posting.
func (q *query) byPosting(b *bolt.Bucket) ([]*rec, error) {
	var recs []*rec
	c := b.Cursor()
	prefix := be32(q.f.Posting)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		id := u64(k[4:])
		v := q.entries.Get(be64(id))
		if v == nil {
			continue
		}
		r, err := decodeRec(id, v)
		if err != nil {
			return nil, err
		}
		if _, ok, _ := q.match(hit{r.time, r.id}); ok {
			recs = append(recs, r)
		}
	}
	q.sort(recs)
	if q.after != nil {
		i := slices.IndexFunc(recs, func(r *rec) bool { return r.id == q.after.id })
		recs = recs[i+1:]
	}
	if q.f.Limit > 0 && len(recs) > q.f.Limit {
		recs = recs[:q.f.Limit]
	}
	return recs, nil
}

// Counts returns how many entries are in each state; see gateway.Queries.
func (j *Journal) Counts(ctx context.Context) (gateway.Counts, error) {
	c := gateway.Counts{States: map[gateway.State]int64{}}
	err := j.view(ctx, "count entries", func(tx *bolt.Tx) error {
		c.Replays = int64(u64(tx.Bucket(bMeta).Get(kReplays)))
		return tx.Bucket(bCounts).ForEach(func(k, v []byte) error {
			n := int64(u64(v))
			c.States[gateway.State(k)] = n
			c.Entries += n
			return nil
		})
	})
	return c, err
}

// Events returns events in sequence order; see gateway.Queries.
func (j *Journal) Events(ctx context.Context, f gateway.EventFilter) ([]gateway.Event, error) {
	if f.Limit < 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "event limit %d is negative", f.Limit)
	}
	var out []gateway.Event
	err := j.view(ctx, "read events", func(tx *bolt.Tx) error {
		events := tx.Bucket(bEvents)
		add := func(seq uint64, v []byte) (bool, error) {
			if len(v) < 32 {
				return false, fmt.Errorf("event %d is missing", seq)
			}
			h, data, err := decodeHeader(v[32:])
			if err != nil {
				return false, err
			}
			e := gateway.Event{Seq: h.seq, Entry: gateway.EntryID(h.entry), Kind: h.kind, Time: h.at, Local: h.local,
				Actor: h.actor, Reason: h.reason, From: h.from, To: h.to, Data: clone(data)}
			copy(e.Hash[:], v[:32])
			out = append(out, e)
			return f.Limit == 0 || len(out) < f.Limit, nil
		}
		var c *bolt.Cursor
		var start, prefix []byte
		switch {
		case f.Entry != 0:
			c, prefix = tx.Bucket(bEntryEvents).Cursor(), be64(uint64(f.Entry))
			start = append(be64(uint64(f.Entry)), be64(f.Since+1)...)
		case f.Audit:
			c, start = tx.Bucket(bAudit).Cursor(), be64(f.Since+1)
		default:
			c, start = events.Cursor(), be64(f.Since+1)
		}
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			seq := u64(k[len(k)-8:])
			if f.Entry != 0 || f.Audit {
				v = events.Get(be64(seq))
			}
			if f.Audit && f.Entry != 0 && tx.Bucket(bAudit).Get(be64(seq)) == nil {
				continue
			}
			more, err := add(seq, v)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	return out, err
}

// WriteEvents writes the events after since to w as JSON lines, each its
// stored JSON with "epoch" and "hash" added, in short read transactions. It
// returns how many it wrote.
func (j *Journal) WriteEvents(ctx context.Context, w io.Writer, since uint64) (int, error) {
	n := 0
	tail := []byte(`,"epoch":"` + j.epoch + `","hash":"`)
	for {
		var lines [][]byte
		err := j.view(ctx, "read events", func(tx *bolt.Tx) error {
			c := tx.Bucket(bEvents).Cursor()
			for k, v := c.Seek(be64(since + 1)); k != nil && len(lines) < 1000; k, v = c.Next() {
				if len(v) < 33 {
					return fmt.Errorf("event %d is damaged: run gateway journal verify", u64(k))
				}
				body := v[32:]
				line := make([]byte, 0, len(body)+len(tail)+68)
				line = append(line, body[:len(body)-1]...)
				line = append(line, tail...)
				line = hex.AppendEncode(line, v[:32])
				line = append(line, "\"}\n"...)
				lines = append(lines, line)
				since = u64(k)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		for _, l := range lines {
			if _, err := w.Write(l); err != nil {
				return n, err
			}
			n++
		}
		if len(lines) < 1000 {
			return n, nil
		}
	}
}

// Info describes the journal; see gateway.Queries.
func (j *Journal) Info(ctx context.Context) (gateway.JournalInfo, error) {
	var in gateway.JournalInfo
	err := j.view(ctx, "describe itself", func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		in.Epoch = string(m.Get(kEpoch))
		in.Schema = int(u64(m.Get(kSchema)))
		in.Created, _ = time.Parse(time.RFC3339Nano, string(m.Get(kCreated)))
		in.LastSeq = tx.Bucket(bEvents).Sequence()
		in.Entries = u64(m.Get(kEntries))
		in.Posting = uint32(u64(m.Get(kPosting)))
		return nil
	})
	return in, err
}

// Backup writes a consistent copy of the journal to w without stopping
// writers; see gateway.Queries.
func (j *Journal) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := j.view(ctx, "back itself up", func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy of the journal to a new file at path
// (written beside it under a temporary name, synced, then renamed). It
// refuses to replace an existing file.
func (j *Journal) BackupFile(ctx context.Context, path string) (int64, error) {
	if _, err := os.Stat(path); err == nil {
		return 0, gateway.Errorf(gateway.KindInvalid, "%s exists already: give the backup a new name", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, gateway.Errorf(gateway.KindInvalid, "cannot write the backup beside %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	n, err := j.Backup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, gateway.Errorf(gateway.KindInternal, "cannot write the backup %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return n, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
