package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// txw is one write transaction: it appends events to the log and applies
// them to the projections. The head of the chain, the counters and the
// per-state counts are read once and written back by flush, at the end.
type txw struct {
	j  *Journal
	tx *bolt.Tx

	meta, events, entries, entryEvents, byTime, byState, byRoom, byExt,
	byPosting, held, counts, replay, audit, rooms, stays, totalsB *bolt.Bucket

	headSeq uint64
	head    [32]byte
	entryN  uint64 // the last entry id given
	posting uint32 // the last posting number given
	replays int64
	deltas  map[gateway.State]int64
	// totals are the changes to the running totals (totals.go), by key.
	totals map[string][2]int64
	// gone is the stays the last guest event ended, for their names.
	gone  []stayRef
	times timeCache
	// sorted, when set, holds the keys new entries add to by_state,
	// by_room and by_ext until putSorted puts them, in key order: an import
	// puts thousands of keys scattered over each index, and puts in key
	// order find their pages in the cache. Only for a transaction that adds
	// entries, moves none and reads none of these indices (Import).
	sorted *[4][][]byte
	// recs, when set, is the write-back cache of entry records
	// (reccache.go).
	recs map[uint64]*cachedRec
}

func (j *Journal) newTxw(tx *bolt.Tx) (*txw, error) {
	w := &txw{j: j, tx: tx, deltas: map[gateway.State]int64{}}
	for _, p := range []struct {
		b    **bolt.Bucket
		name []byte
	}{
		{&w.meta, bMeta}, {&w.events, bEvents}, {&w.entries, bEntries}, {&w.entryEvents, bEntryEvents},
		{&w.byTime, bByTime}, {&w.byState, bByState}, {&w.byRoom, bByRoom}, {&w.byExt, bByExt},
		{&w.byPosting, bByPosting}, {&w.held, bHeld}, {&w.counts, bCounts}, {&w.replay, bReplay},
		{&w.audit, bAudit}, {&w.rooms, bRooms}, {&w.stays, bStays}, {&w.totalsB, bTotals},
	} {
		if *p.b = tx.Bucket(p.name); *p.b == nil {
			return nil, fmt.Errorf("bucket %s is missing", p.name)
		}
	}
	// Append-only buckets: fill pages, since keys only grow.
	for _, b := range []*bolt.Bucket{w.events, w.entries, w.entryEvents, w.audit} {
		b.FillPercent = 0.95
	}
	if h := w.meta.Get(kHead); len(h) == 40 {
		w.headSeq = u64(h)
		copy(w.head[:], h[8:])
	} else {
		w.head = j.genesis
	}
	w.entryN = u64(w.meta.Get(kEntries))
	w.posting = uint32(u64(w.meta.Get(kPosting)))
	w.replays = int64(u64(w.meta.Get(kReplays)))
	return w, nil
}

// count returns how many entries are in state s, as the transaction has
// left them so far.
func (w *txw) count(s gateway.State) int64 {
	return int64(u64(w.counts.Get([]byte(s)))) + w.deltas[s]
}

// flush writes back what the transaction kept in memory.
func (w *txw) flush() error {
	if err := w.flushRecs(); err != nil {
		return err
	}
	head := make([]byte, 40)
	binary.BigEndian.PutUint64(head, w.headSeq)
	copy(head[8:], w.head[:])
	if w.headSeq > 0 {
		if err := w.meta.Put(kHead, head); err != nil {
			return err
		}
	}
	for _, kv := range []struct {
		k []byte
		v uint64
	}{{kEntries, w.entryN}, {kPosting, uint64(w.posting)}, {kReplays, uint64(w.replays)}} {
		if kv.v == 0 {
			if err := w.meta.Delete(kv.k); err != nil {
				return err
			}
			continue
		}
		if err := w.meta.Put(kv.k, be64(kv.v)); err != nil {
			return err
		}
	}
	for s, d := range w.deltas {
		if d == 0 {
			continue
		}
		n := int64(u64(w.counts.Get([]byte(s)))) + d
		var err error
		if n == 0 {
			err = w.counts.Delete([]byte(s))
		} else {
			err = w.counts.Put([]byte(s), be64(uint64(n)))
		}
		if err != nil {
			return err
		}
	}
	clear(w.deltas)
	return w.flushTotals()
}

// write runs fn with a txw in a write transaction, which it may share with
// other writes (group commit, see commit.go): fn may run more than once and
// must set its results, not accumulate them. It fails at once when ctx is
// done.
func (j *Journal) write(ctx context.Context, what string, fn func(w *txw) error) error {
	if err := ctx.Err(); err != nil {
		return gateway.Wrap(gateway.KindTransient, err, "the journal did not "+what)
	}
	if err := j.damaged(what); err != nil {
		return err
	}
	run := j.db.Update
	if j.commits != nil {
		run = j.commits.do
	}
	err := j.guard(what, func() error {
		return run(func(tx *bolt.Tx) error {
			w, err := j.newTxw(tx)
			if err != nil {
				return err
			}
			if err := fn(w); err != nil {
				return err
			}
			return w.flush()
		})
	})
	if v, ok := asWritePanic(err); ok {
		err = j.damagedError(what, v)
	}
	return classify(err, what)
}

// now is the journal's clock, in UTC microseconds.
func (j *Journal) now() time.Time { return j.opt.Now().UTC().Truncate(time.Microsecond) }

// append adds ev to the log, chained to the head, and applies it.
func (w *txw) append(ev *event) error {
	seq, err := w.events.NextSequence()
	if err != nil {
		return err
	}
	if seq != w.headSeq+1 {
		return fmt.Errorf("the log's sequence (%d) does not follow its head (%d): run gateway journal verify", seq, w.headSeq)
	}
	ev.seq = seq
	// The stored value is hash ‖ JSON: the JSON is written after room for
	// the hash.
	size := 32 + 256 + len(ev.raw)*4/3
	if ev.call != nil {
		size += 512
	}
	if ev.charge != nil {
		size += 384
	}
	val := make([]byte, 32, size)
	val, err = ev.appendJSON(val, w.j.opt.Location, &w.times)
	if err != nil {
		return err
	}
	h := chainHash(w.head, val[32:])
	copy(val, h[:])
	if err := w.events.Put(be64(seq), val); err != nil {
		return err
	}
	w.head, w.headSeq = h, seq
	return w.apply(ev)
}

// apply projects one event. Live writes and rebuilds both come here, so the
// projections are a function of the log.
func (w *txw) apply(ev *event) error {
	if ev.entry != 0 {
		k := make([]byte, 16)
		binary.BigEndian.PutUint64(k, ev.entry)
		binary.BigEndian.PutUint64(k[8:], ev.seq)
		if err := w.entryEvents.Put(k, nil); err != nil {
			return err
		}
	}
	if ev.kind == gateway.EventAudit || ev.kind == gateway.EventPruned || (ev.kind == gateway.EventMoved && ev.actor != "") {
		if err := w.audit.Put(be64(ev.seq), nil); err != nil {
			return err
		}
	}
	switch ev.kind {
	case gateway.EventCaptured, gateway.EventImported:
		r := &rec{id: ev.entry, state: gateway.StateCaptured, time: micros(ev.received),
			updated: micros(ev.at), lastSeq: ev.seq,
			raw: ev.raw, received: micros(ev.received), source: gateway.CanonicalText(ev.source), truncated: ev.truncated, cut: ev.cut}
		if ev.kind == gateway.EventImported {
			r.state, r.room = gateway.StateImported, ev.room
			w.setCall(r, ev)
		}
		if ev.entry > w.entryN {
			w.entryN = ev.entry
		}
		if err := w.putRec(nil, r); err != nil {
			return err
		}
		if ev.kind == gateway.EventImported {
			return nil // history is not in the replay index: see Import
		}
		return w.replay.Put(digest(ev.raw), replayValue(ev.entry, micros(ev.received)))
	case gateway.EventReplayed:
		old, err := w.getRec(ev.entry)
		if err != nil {
			return err
		}
		r := *old
		r.replays++
		r.updated, r.lastSeq = micros(ev.at), ev.seq
		w.replays++
		return w.putRec(old, &r)
	case gateway.EventMoved:
		old, err := w.getRec(ev.entry)
		if err != nil {
			return err
		}
		r := *old
		r.state = ev.to
		r.updated, r.lastSeq = micros(ev.at), ev.seq
		w.setCall(&r, ev)
		if ev.room != "" {
			r.room = ev.room
		}
		if ev.reservation != "" {
			r.reservation = ev.reservation
		}
		switch {
		case ev.posting != 0:
			if err := w.release(r.posting, r.id); err != nil {
				return err
			}
			r.posting, w.posting = ev.posting, ev.posting
			if err := w.held.Put(be32(ev.posting), be64(r.id)); err != nil {
				return err
			}
			if err := w.byPosting.Put(append(be32(ev.posting), be64(r.id)...), nil); err != nil {
				return err
			}
		case releases(ev.to):
			if err := w.release(r.posting, r.id); err != nil {
				return err
			}
		case ev.to == gateway.StateQueued && (ev.from == gateway.StateReposted || ev.from == gateway.StateTransferred):
			// Queued again by a person, to be sent under a new number (a
			// journal written before numbers were given at sending has the
			// new number in this event: the case above).
			if err := w.release(r.posting, r.id); err != nil {
				return err
			}
			r.posting = 0
		}
		if ev.to == gateway.StateSent {
			r.sent = micros(ev.at)
		}
		if ev.answer != nil {
			r.answerCode, r.answerText, r.answerAt = ev.answer.Code, ev.answer.Text, micros(ev.at)
		}
		return w.putRec(old, &r)
	case gateway.EventGuest:
		var err error
		w.gone, err = w.applyGuest(ev)
		return err
	case gateway.EventPruned:
		p := ev.pruned
		w.entryN, w.posting, w.replays = p.EntriesMax, p.PostingLast, p.Replays
	}
	return nil
}

// setCall takes the call and charge an event brings, as a rebuild reads
// them from the log.
func (w *txw) setCall(r *rec, ev *event) {
	if ev.call != nil {
		r.call = gateway.CanonicalCall(ev.call)
		r.ext = r.call.Extension
		if t := r.call.StartUTC; !t.IsZero() {
			r.time = t.UnixMicro()
		}
	}
	if ev.charge != nil {
		r.charge = canonCharge(ev.charge)
	}
}

// releases reports whether moving to s lets go of the entry's posting number:
// the posting is settled and no answer for that number can matter any more.
func releases(s gateway.State) bool {
	return s == gateway.StatePosted || s == gateway.StatePostedByHand || s == gateway.StateVoided
}

func (w *txw) release(posting uint32, id uint64) error {
	if posting == 0 {
		return nil
	}
	k := be32(posting)
	if u64(w.held.Get(k)) == id {
		return w.held.Delete(k)
	}
	return nil
}

func digest(raw []byte) []byte {
	d := sha256.Sum256(raw)
	return d[:]
}

func replayValue(id uint64, received int64) []byte {
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v, id)
	binary.BigEndian.PutUint64(v[8:], uint64(received))
	return v
}

func (w *txw) getRec(id uint64) (*rec, error) {
	if r, ok := w.cachedGet(id); ok {
		return r, nil
	}
	v := w.entries.Get(be64(id))
	if v == nil {
		return nil, gateway.Errorf(gateway.KindNotFound, "entry %d does not exist", id)
	}
	r, err := decodeRec(id, v)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", id, err)
	}
	return r, nil
}

// putRec stores r and moves its index keys and count from what old had.
func (w *txw) putRec(old, r *rec) error {
	if w.recs != nil {
		w.cachePut(old, r)
		return nil
	}
	nk := r.indexKeys()
	var ok [4][]byte
	if old != nil {
		ok = old.indexKeys()
		w.deltas[old.state]--
	}
	for i := range nk {
		if old == nil && i > 0 && w.sorted != nil {
			if nk[i] != nil {
				w.sorted[i] = append(w.sorted[i], nk[i])
			}
			continue
		}
		if err := w.moveKey(i, ok[i], nk[i]); err != nil {
			return err
		}
	}
	w.deltas[r.state]++
	w.retally(old, r)
	return w.entries.Put(be64(r.id), r.encode())
}

// putSorted puts the index keys kept in w.sorted, in key order.
func (w *txw) putSorted() error {
	if w.sorted == nil {
		return nil
	}
	for i, keys := range w.sorted {
		slices.SortFunc(keys, bytes.Compare)
		for _, k := range keys {
			if err := w.bucket(i).Put(k, nil); err != nil {
				return err
			}
		}
	}
	w.sorted = nil
	return nil
}

func (w *txw) bucket(i int) *bolt.Bucket {
	return [4]*bolt.Bucket{w.byTime, w.byState, w.byRoom, w.byExt}[i]
}

// deleteRec removes an entry's projection (for retention).
func (w *txw) deleteRec(r *rec) error {
	k := r.indexKeys()
	for i := range k {
		if k[i] != nil {
			if err := w.bucket(i).Delete(k[i]); err != nil {
				return err
			}
		}
	}
	w.deltas[r.state]--
	w.retally(r, nil)
	return w.entries.Delete(be64(r.id))
}

// moveKey replaces index i's key old with nk (either may be nil; the same
// key is left as it is).
func (w *txw) moveKey(i int, old, nk []byte) error {
	if old != nil && string(old) == string(nk) {
		return nil
	}
	if old != nil {
		if err := w.bucket(i).Delete(old); err != nil {
			return err
		}
	}
	if nk != nil {
		return w.bucket(i).Put(nk, nil)
	}
	return nil
}
