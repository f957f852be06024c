package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// The running totals (docs/journal.md "Projections"): per quarter hour of
// entry time (gateway.TotalsSlot, in UTC), how many entries, and by charge
// class and currency the chargeable calls and the revenue posted. putRec
// and deleteRec keep them in the transaction that changes an entry, so the
// dashboard reads a day as 96 slots instead of every entry of the day.
//
//	totals   slot(8) → entries(8)
//	         slot(8) ‖ class ‖ 0 ‖ currency → calls(8) ‖ revenue(8)

var bTotals = []byte("totals")

// slotMicros is gateway.TotalsSlot in µs.
const slotMicros = int64(gateway.TotalsSlot / time.Microsecond)

// slotOf is the quarter hour (from the Unix epoch, floored) of µs.
func slotOf(us int64) int64 {
	s := us / slotMicros
	if us%slotMicros < 0 {
		s--
	}
	return s
}

// totalsKey is the key of slot's entry count, or with class (and
// currency) of that class's calls and revenue.
func totalsKey(slot int64, class, currency string, withClass bool) string {
	k := timeKey(slot)
	if !withClass {
		return string(k)
	}
	return string(k) + class + "\x00" + currency
}

// tallyOf is what a record adds to the totals: its slot and, when it is a
// chargeable call, its class's key and revenue.
type tallyOf struct {
	slot    int64
	call    bool
	class   string
	cur     string
	revenue int64
}

func (r *rec) tally() tallyOf {
	t := tallyOf{slot: slotOf(r.time)}
	t.call, t.revenue = gateway.Tally(r.state, r.charge)
	if t.call {
		t.class, t.cur = r.charge.Class, r.charge.Currency
	}
	return t
}

// retally moves the totals from what old added (nil for a new entry) to
// what r adds (nil for a removed one). The changes are kept in w.totals
// until flush.
func (w *txw) retally(old, r *rec) {
	var a, b tallyOf
	if old != nil {
		a = old.tally()
	}
	if r != nil {
		b = r.tally()
	}
	if old != nil && r != nil && a == b {
		return
	}
	if w.totals == nil {
		w.totals = map[string][2]int64{}
	}
	add := func(t tallyOf, sign int64) {
		k := totalsKey(t.slot, "", "", false)
		d := w.totals[k]
		d[0] += sign
		w.totals[k] = d
		if t.call {
			k := totalsKey(t.slot, t.class, t.cur, true)
			d := w.totals[k]
			d[0] += sign
			d[1] += sign * t.revenue
			w.totals[k] = d
		}
	}
	if old != nil {
		add(a, -1)
	}
	if r != nil {
		add(b, 1)
	}
}

// flushTotals adds the kept changes to the totals bucket; a total that
// comes to nothing is removed, so a rebuild stores the same keys.
func (w *txw) flushTotals() error {
	for k, d := range w.totals {
		if d == [2]int64{} {
			continue
		}
		key := []byte(k)
		var n [2]int64
		if v := w.totalsB.Get(key); len(v) >= 8 {
			n[0] = int64(binary.BigEndian.Uint64(v))
			if len(v) >= 16 {
				n[1] = int64(binary.BigEndian.Uint64(v[8:]))
			}
		}
		n[0] += d[0]
		n[1] += d[1]
		var err error
		switch {
		case n == [2]int64{}:
			err = w.totalsB.Delete(key)
		case len(key) == 8:
			err = w.totalsB.Put(key, be64(uint64(n[0])))
		default:
			v := make([]byte, 16)
			binary.BigEndian.PutUint64(v, uint64(n[0]))
			binary.BigEndian.PutUint64(v[8:], uint64(n[1]))
			err = w.totalsB.Put(key, v)
		}
		if err != nil {
			return err
		}
	}
	clear(w.totals)
	return nil
}

// Totals sums the running totals of [from, to); see gateway.Queries.
func (j *Journal) Totals(ctx context.Context, from, to time.Time) (gateway.Totals, error) {
	var out gateway.Totals
	if err := gateway.CheckTotalsRange(from, to); err != nil {
		return out, err
	}
	start, end := timeKey(slotOf(from.UnixMicro())), timeKey(slotOf(to.UnixMicro()))
	type key struct{ class, cur string }
	sums := map[key]*gateway.ClassTotal{}
	err := j.view(ctx, "sum its totals", func(tx *bolt.Tx) error {
		c := tx.Bucket(bTotals).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			if len(k) < 8 {
				return gateway.Errorf(gateway.KindInternal, "the totals key %x is damaged: run gateway journal rebuild", k)
			}
			if len(k) == 8 {
				out.Entries += int64(u64(v))
				continue
			}
			class, cur, ok := strings.Cut(string(k[8:]), "\x00")
			if !ok || len(v) != 16 {
				return gateway.Errorf(gateway.KindInternal, "the totals key %x is damaged: run gateway journal rebuild", k)
			}
			t := sums[key{class, cur}]
			if t == nil {
				t = &gateway.ClassTotal{Class: class, Currency: cur}
				sums[key{class, cur}] = t
			}
			t.Calls += int64(u64(v))
			t.RevenueMinor += int64(u64(v[8:]))
		}
		return nil
	})
	if err != nil {
		return gateway.Totals{}, err
	}
	for _, t := range sums {
		out.Classes = append(out.Classes, *t)
	}
	slices.SortFunc(out.Classes, func(a, b gateway.ClassTotal) int {
		if c := strings.Compare(a.Class, b.Class); c != 0 {
			return c
		}
		return strings.Compare(a.Currency, b.Currency)
	})
	return out, nil
}

// migrateTotals creates the totals of a schema-2 journal from its entry
// records (the projection schema 3 adds).
func migrateTotals(tx *bolt.Tx, j *Journal) error {
	if _, err := tx.CreateBucketIfNotExists(bTotals); err != nil {
		return err
	}
	w, err := j.newTxw(tx)
	if err != nil {
		return err
	}
	c := tx.Bucket(bEntries).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		r, err := decodeRec(u64(k), v)
		if err != nil {
			return err
		}
		w.retally(nil, r)
	}
	return w.flushTotals()
}
