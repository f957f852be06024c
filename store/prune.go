package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// closedStates are the states retention may remove: nothing more will
// happen to such an entry and no person waits on it.
var closedStates = []gateway.State{gateway.StateNotChargeable, gateway.StatePosted, gateway.StatePostedByHand,
	gateway.StateVoided, gateway.StateImported}

// Prune removes closed entries (not-chargeable, posted, posted-manually,
// voided, imported) whose time and last event are before before, together
// with their events, in batches of one transaction each; each batch ends
// with a pruned event. With dryRun it only counts.
func (j *Journal) Prune(ctx context.Context, before time.Time, dryRun bool) (gateway.Pruned, error) {
	out := gateway.Pruned{Before: before.UTC(), DryRun: dryRun}
	if dryRun {
		err := j.view(ctx, "count what retention would remove", func(tx *bolt.Tx) error {
			upTo, cursor := j.pruneLimit(tx)
			recs, err := prunable(tx, micros(before), 0, upTo, &out)
			out.ShipCursor = cursor
			for _, r := range recs {
				out.Entries++
				out.Events += countPrefix(tx.Bucket(bEntryEvents), be64(r.id))
			}
			return err
		})
		return out, err
	}
	for {
		var n, m int
		err := j.write(ctx, "prune old entries", func(w *txw) error {
			var err error
			held := out
			upTo, cursor := j.pruneLimit(w.tx)
			n, m, err = w.prune(micros(before), 2000, upTo, &held)
			if n == 0 && err == nil {
				// The last round (nothing left to remove) counts what
				// the guard keeps.
				out.Held, out.ShipCursor, out.HeldEntries, out.HeldEvents = held.Held, cursor, held.HeldEntries, held.HeldEvents
			}
			return err
		})
		if err != nil {
			return out, err
		}
		out.Entries += n
		out.Events += m
		if n == 0 {
			break
		}
	}
	if out.Entries > 0 {
		j.log.Info().Int("entries", out.Entries).Int("events", out.Events).Time("before", before).Msg("old entries pruned")
	}
	return out, nil
}

// prunable lists up to limit (0: all) closed entries older than before
// whose events are all at or below upTo (below the ship cursor when a
// central is configured, else the maximum); held, if not nil, counts in HeldEntries
// and HeldEvents those kept back by upTo.
func prunable(tx *bolt.Tx, before int64, limit int, upTo uint64, held *gateway.Pruned) ([]*rec, error) {
	var out []*rec
	if held != nil && upTo != math.MaxUint64 {
		held.Held, held.HeldEntries, held.HeldEvents = true, 0, 0
	}
	entries := tx.Bucket(bEntries)
	for _, s := range closedStates {
		prefix := []byte(string(s) + "\x00")
		end := prefixed(string(s), before, 0)
		c := tx.Bucket(bByState).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.Compare(k, end) < 0; k, _ = c.Next() {
			h := hitOf(k)
			r, err := decodeRec(h.id, entries.Get(be64(h.id)))
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", h.id, err)
			}
			if r.updated >= before {
				continue
			}
			if upTo != math.MaxUint64 && lastEventOf(tx, h.id) > upTo {
				if held != nil {
					held.HeldEntries++
					held.HeldEvents += countPrefix(tx.Bucket(bEntryEvents), be64(h.id))
				}
				continue
			}
			out = append(out, r)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
	}
	return out, nil
}

func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// prune removes up to limit prunable entries with their events and records
// the holes in the chain; it returns the entries and events removed.
func (w *txw) prune(before int64, limit int, upTo uint64, held *gateway.Pruned) (int, int, error) {
	recs, err := prunable(w.tx, before, limit, upTo, held)
	if err != nil || len(recs) == 0 {
		return 0, 0, err
	}
	type gone struct {
		seq  uint64
		hash [32]byte
	}
	var removed []gone
	for _, r := range recs {
		var keys [][]byte
		c := w.entryEvents.Cursor()
		prefix := be64(r.id)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, clone(k))
		}
		for _, k := range keys {
			seq := u64(k[8:])
			v := w.events.Get(k[8:])
			if len(v) < 33 {
				return 0, 0, fmt.Errorf("entry %d: event %d is missing", r.id, seq)
			}
			g := gone{seq: seq}
			copy(g.hash[:], v[:32])
			ev, err := decodeEvent(v[32:])
			if err != nil {
				return 0, 0, err
			}
			if ev.raw != nil {
				d := digest(ev.raw)
				if u64(w.replay.Get(d)) == r.id {
					if err := w.replay.Delete(d); err != nil {
						return 0, 0, err
					}
				}
			}
			if ev.posting != 0 {
				if err := w.byPosting.Delete(append(be32(ev.posting), be64(r.id)...)); err != nil {
					return 0, 0, err
				}
			}
			for _, del := range []struct {
				b *bolt.Bucket
				k []byte
			}{{w.events, k[8:]}, {w.entryEvents, k}, {w.audit, k[8:]}} {
				if err := del.b.Delete(del.k); err != nil {
					return 0, 0, err
				}
			}
			removed = append(removed, g)
		}
		if err := w.release(r.posting, r.id); err != nil {
			return 0, 0, err
		}
		if err := w.deleteRec(r); err != nil {
			return 0, 0, err
		}
	}
	// Record the holes: each run of removed numbers, merged with the runs
	// recorded next to it.
	slices.SortFunc(removed, func(a, b gone) int { return cmp.Compare(a.seq, b.seq) })
	pruned := w.tx.Bucket(bPruned)
	for i := 0; i < len(removed); {
		k := i
		for k+1 < len(removed) && removed[k+1].seq == removed[k].seq+1 {
			k++
		}
		first, last, hash := removed[i].seq, removed[k].seq, removed[k].hash
		c := pruned.Cursor()
		pk, pv := c.Seek(be64(first))
		if pk == nil {
			pk, pv = c.Last()
		} else {
			pk, pv = c.Prev()
		}
		if pk != nil && len(pv) == 40 && u64(pv) == first-1 {
			first = u64(pk)
		}
		if nv := pruned.Get(be64(last + 1)); len(nv) == 40 {
			last = u64(nv)
			copy(hash[:], nv[8:])
			if err := pruned.Delete(be64(removed[k].seq + 1)); err != nil {
				return 0, 0, err
			}
		}
		if err := pruned.Put(be64(first), append(be64(last), hash[:]...)); err != nil {
			return 0, 0, err
		}
		i = k + 1
	}
	err = w.append(&event{kind: gateway.EventPruned, at: w.j.now(), actor: "gateway", reason: "retention",
		pruned: &prunedData{Before: fromMicros(before).Format(time.RFC3339), Entries: len(recs), Events: len(removed),
			EntriesMax: w.entryN, PostingLast: w.posting, Replays: w.replays}})
	return len(recs), len(removed), err
}

// Tidy erases expired guest names, forgets expired replay digests and, with a
// retention configured, prunes old closed entries; see gateway.Journal.
func (j *Journal) Tidy(ctx context.Context) (gateway.Tidied, error) {
	var t gateway.Tidied
	now := j.now()
	var err error
	if t.NamesErased, err = j.eraseNames(ctx, now.Add(-j.opt.GuestRetention)); err != nil {
		return t, err
	}
	if t.DigestsExpired, err = j.expireDigests(ctx, micros(now.Add(-j.opt.ReplayWindow))); err != nil {
		return t, err
	}
	if j.opt.RetentionMonths > 0 {
		if t.Pruned, err = j.Prune(ctx, now.AddDate(0, -j.opt.RetentionMonths, 0), false); err != nil {
			return t, err
		}
	}
	j.log.Info().Int("names_erased", t.NamesErased).Int("digests_expired", t.DigestsExpired).
		Int("entries_pruned", t.Pruned.Entries).Msg("journal tidied")
	return t, nil
}

// expireDigests deletes replay digests read before cut, in batches.
func (j *Journal) expireDigests(ctx context.Context, cut int64) (int, error) {
	total := 0
	for {
		n := 0
		err := j.update(ctx, "forget old replay digests", func(tx *bolt.Tx) error {
			b := tx.Bucket(bReplay)
			var doomed [][]byte
			c := b.Cursor()
			for k, v := c.First(); k != nil && len(doomed) < 10000; k, v = c.Next() {
				if len(v) == 16 && int64(binary.BigEndian.Uint64(v[8:])) < cut {
					doomed = append(doomed, clone(k))
				}
			}
			for _, k := range doomed {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n = len(doomed)
			return nil
		})
		total += n
		if err != nil || n < 10000 {
			return total, err
		}
	}
}
