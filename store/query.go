package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
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

// loadEntry builds an entry from its record. Everything it returns is
// copied out of the transaction.
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

// entry returns the entry r describes; it reads the log only for the
// history. The entry takes over r's call and charge.
func (r *rec) entry(tx *bolt.Tx, history bool) (gateway.Entry, error) {
	e := gateway.Entry{
		ID:          gateway.EntryID(r.id),
		State:       r.state,
		Time:        fromMicros(r.time),
		Raw:         gateway.RawRecord{Data: r.raw, Received: fromMicros(r.received), Source: r.source, Truncated: r.truncated, Cut: r.cut},
		Call:        r.call,
		Charge:      r.charge,
		Room:        r.room,
		Reservation: r.reservation,
		Posting:     r.posting,
		Sent:        fromMicros(r.sent),
		Replays:     int(r.replays),
		Updated:     fromMicros(r.updated),
	}
	if e.Call != nil {
		e.Call.Raw = e.Raw.Data
	}
	if r.answerCode != "" || r.answerAt != 0 {
		e.Answer = &gateway.Answer{Code: r.answerCode, Text: r.answerText, Time: fromMicros(r.answerAt)}
	}
	if history {
		events := tx.Bucket(bEvents)
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
	if err := checkFilter(f); err != nil {
		return nil, err
	}
	var out []gateway.Entry
	err := j.view(ctx, "list entries", func(tx *bolt.Tx) error {
		var err error
		out, err = list(tx, f, &arena{}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// defaultPage is the page of EachPage when the filter sets no Limit.
const defaultPage = 20_000

// EachPage calls fn with the entries matching f a page at a time; see
// gateway.Queries. The pages' memory is reused: a listing of a million
// entries costs about a page's allocations.
func (j *Journal) EachPage(ctx context.Context, f gateway.Filter, fn func([]gateway.Entry) error) error {
	if err := checkFilter(f); err != nil {
		return err
	}
	if f.Limit <= 0 {
		f.Limit = defaultPage
	}
	a := &arena{chunk: f.Limit}
	var page []gateway.Entry
	for {
		a.reset()
		clear(page)
		err := j.view(ctx, "list entries", func(tx *bolt.Tx) error {
			var err error
			page, err = list(tx, f, a, page[:0])
			return err
		})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		n, last := len(page), page[len(page)-1].ID // fn may change the page
		if err := fn(page); err != nil {
			return err
		}
		if n < f.Limit {
			return nil
		}
		f.After = last
	}
}

func checkFilter(f gateway.Filter) error {
	for _, s := range f.States {
		if !s.Valid() {
			return gateway.Errorf(gateway.KindInvalid, "%q is not a journal state", s)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return gateway.Errorf(gateway.KindInvalid, "the end of the time range (%s) is before its start (%s)", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	return nil
}

// list appends the entries matching f to dst, through an index, taking
// their memory from a.
func list(tx *bolt.Tx, f gateway.Filter, a *arena, dst []gateway.Entry) ([]gateway.Entry, error) {
	q := query{f: f, tx: tx, entries: tx.Bucket(bEntries), from: micros(f.From), to: micros(f.To), arena: a, out: dst}
	q.cursor = q.entries.Cursor()
	if f.After != 0 {
		v := q.entries.Get(be64(uint64(f.After)))
		if v == nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "entry %d, to list after, does not exist", f.After)
		}
		r, err := decodeRec(uint64(f.After), v)
		if err != nil {
			return nil, err
		}
		q.after = &hit{r.time, r.id}
	}
	if f.Limit > 0 && cap(q.out) == 0 {
		q.out = make([]gateway.Entry, 0, min(f.Limit, 50_000)) // a page of a listing: no growing
	}
	var err error
	switch {
	case f.Posting != 0:
		err = q.byPosting(tx.Bucket(bByPosting))
	case f.Room != "":
		err = q.scan(tx.Bucket(bByRoom), []byte(f.Room+"\x00"))
	case f.Extension != "":
		err = q.scan(tx.Bucket(bByExt), []byte(f.Extension+"\x00"))
	case len(f.States) > 0:
		for _, s := range slices.Compact(slices.Sorted(slices.Values(f.States))) {
			if err := q.scan(tx.Bucket(bByState), []byte(string(s)+"\x00")); err != nil {
				return nil, err
			}
		}
		q.sort(q.out[len(dst):])
		if f.Limit > 0 && len(q.out)-len(dst) > f.Limit {
			q.out = q.out[:len(dst)+f.Limit]
		}
	default:
		err = q.scan(tx.Bucket(bByTime), nil)
	}
	if err != nil {
		return nil, err
	}
	return q.out, nil
}

type query struct {
	f        gateway.Filter
	tx       *bolt.Tx
	entries  *bolt.Bucket
	from, to int64 // µs, 0 for open
	after    *hit
	arena    *arena
	out      []gateway.Entry
	// cursor is on the last record read: a listing in time order mostly
	// reads entries in id order, and a step of the cursor is cheaper than a
	// search from the root.
	cursor *bolt.Cursor
	last   uint64 // the id under cursor, 0 for none
}

// get returns entry id's record, nil if there is none.
func (q *query) get(id uint64) []byte {
	var k, v []byte
	switch {
	case q.last != 0 && id == q.last+1:
		k, v = q.cursor.Next()
	case q.last != 0 && id == q.last-1:
		k, v = q.cursor.Prev()
	}
	if k == nil || u64(k) != id {
		k, v = q.cursor.Seek(be64(id))
	}
	if k == nil || u64(k) != id {
		q.last = 0
		return nil
	}
	q.last = id
	return v
}

// match reads an entry's record, checks the filter's fields, and appends
// the entry to q.out if it matches.
func (q *query) match(h hit) (bool, error) {
	if q.from != 0 && h.t < q.from || q.to != 0 && h.t >= q.to {
		return false, nil
	}
	v := q.get(h.id)
	if v == nil {
		return false, fmt.Errorf("index names entry %d, which does not exist: run gateway journal verify", h.id)
	}
	var r rec
	if err := r.decode(h.id, string(v), q.arena); err != nil {
		return false, fmt.Errorf("entry %d: %w", h.id, err)
	}
	f := q.f
	if !(len(f.States) == 0 || slices.Contains(f.States, r.state)) ||
		!(f.Room == "" || r.room == f.Room) ||
		!(f.Extension == "" || r.ext == f.Extension) {
		return false, nil
	}
	e, err := r.entry(q.tx, f.History)
	if err != nil {
		return false, err
	}
	q.out = append(q.out, e)
	return true, nil
}

// scan walks one index's keys under prefix in the filter's order and time
// range, after q.after, and appends up to Limit matching entries to q.out.
func (q *query) scan(b *bolt.Bucket, prefix []byte) error {
	n := 0
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
		ok, err := q.match(h)
		if err != nil {
			return err
		}
		if ok {
			n++
			if q.f.Limit > 0 && n >= q.f.Limit {
				break
			}
		}
	}
	return nil
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

func hitOfEntry(e *gateway.Entry) hit { return hit{micros(e.Time), uint64(e.ID)} }

// sort orders es as the filter asks.
func (q *query) sort(es []gateway.Entry) {
	slices.SortFunc(es, func(a, b gateway.Entry) int {
		ha, hb := hitOfEntry(&a), hitOfEntry(&b)
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
func (q *query) byPosting(b *bolt.Bucket) error {
	first := len(q.out)
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
			return err
		}
		if _, err := q.match(hit{r.time, r.id}); err != nil {
			return err
		}
	}
	es := q.out[first:]
	q.sort(es)
	if q.after != nil {
		i := slices.IndexFunc(es, func(e gateway.Entry) bool { return uint64(e.ID) == q.after.id })
		es = es[i+1:]
	}
	if q.f.Limit > 0 && len(es) > q.f.Limit {
		es = es[:q.f.Limit]
	}
	q.out = append(q.out[:first], es...)
	return nil
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
				Actor: h.actor, Reason: h.reason, From: h.from, To: h.to, Data: data, Body: clone(v[32:])}
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
		in.ResyncOpen = m.Get(kResync) != nil
		in.SealableUpto = u64(m.Get(kSealable))
		readEpochs(m, &in)
		return nil
	})
	return in, err
}
