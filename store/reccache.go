package store

import (
	"slices"

	"callgate/gateway"
)

// The write-back cache of entry records (docs/journal.md "Commits").
//
// A record's capture, rating, decision and sending are four events in one
// transaction, and each moves its entry: written through, that is four
// encodings of the entry record, three decodings of what the transaction
// had just written, and a delete and a put in by_state for every step. With
// the cache on (hot-path writes: Capture, CaptureAll, Move, MoveAll), apply
// still runs for every event — the projections stay a function of the log —
// but an entry's record lives in memory until the write ends: getRec
// returns the record the write last made, putRec only replaces it, and
// flushRecs writes each entry record once, in its final form, and each index
// key that changed between what the bucket held and that final form. A
// rebuild (cache off) applies the same events one by one and stores the
// same bytes.

// cachedRec is one entry's record as the write has left it.
type cachedRec struct {
	r *rec
	// orig is the entry's index keys as the buckets hold them (none for an
	// entry created in this write).
	orig [4][]byte
}

// cacheRecs turns the cache on for the rest of the write.
func (w *txw) cacheRecs() {
	if w.recs == nil {
		w.recs = map[uint64]*cachedRec{}
	}
}

// cachedGet returns the cached record of id, if the cache holds it.
func (w *txw) cachedGet(id uint64) (*rec, bool) {
	c, ok := w.recs[id]
	if !ok {
		return nil, false
	}
	return c.r, true
}

// cachePut keeps r as its entry's record; old is the record it replaces
// (nil for a new entry). Counts and totals are kept as putRec keeps them.
func (w *txw) cachePut(old, r *rec) {
	c := w.recs[r.id]
	if c == nil {
		c = &cachedRec{}
		if old != nil {
			c.orig = old.indexKeys()
		}
		w.recs[r.id] = c
	}
	if old != nil {
		w.deltas[old.state]--
	}
	w.deltas[r.state]++
	w.retally(old, r)
	c.r = r
}

// exists reports whether entry id exists, for the cache or the bucket.
func (w *txw) exists(id uint64) bool {
	if _, ok := w.recs[id]; ok {
		return true
	}
	return w.entries.Get(be64(id)) != nil
}

// flushRecs writes the records the write changed, in id order, with the
// index keys that changed.
func (w *txw) flushRecs() error {
	if len(w.recs) == 0 {
		return nil
	}
	ids := make([]uint64, 0, len(w.recs))
	for id := range w.recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := w.recs[id]
		nk := c.r.indexKeys()
		for i := range nk {
			if err := w.moveKey(i, c.orig[i], nk[i]); err != nil {
				return err
			}
		}
		if err := w.entries.Put(be64(id), c.r.encode()); err != nil {
			return err
		}
	}
	clear(w.recs)
	return nil
}

// entryOf returns entry id as the write has left it, sharing no memory
// with the cache.
func (w *txw) entryOf(id uint64) (gateway.Entry, error) {
	r, ok := w.cachedGet(id)
	if !ok {
		return loadEntry(w.tx, id, false)
	}
	cp := *r
	cp.raw = slices.Clone(r.raw)
	if r.call != nil {
		c := *r.call
		cp.call = &c
	}
	if r.charge != nil {
		c := *r.charge
		if c.Exception != nil {
			e := *c.Exception
			c.Exception = &e
		}
		cp.charge = &c
	}
	return cp.entry(w.tx, false)
}
