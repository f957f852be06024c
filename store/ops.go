package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// Report is what Verify found.
type Report struct {
	Events   uint64   // events whose hashes were checked
	Pruned   uint64   // events removed by retention, accounted for by the chain
	LastSeq  uint64   // the last sequence number
	Entries  int64    // entries in the journal
	Problems []string // empty when the journal is sound
}

// OK reports whether Verify found nothing wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

const maxProblems = 50

func (r *Report) add(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == maxProblems {
		r.Problems = append(r.Problems, "… and more problems")
	}
}

// Verify checks the journal from one snapshot: every event's hash against the
// chain (a changed byte, a removed or reordered event shows), the sequence
// numbers with no hole that retention did not record, the pages of the file,
// and every projection against a rebuild from the events into a scratch file
// in dir ("" for the system's temporary folder). The journal stays usable
// meanwhile. An error means Verify could not run; problems it found are in
// the Report.
func (j *Journal) Verify(ctx context.Context, dir string) (Report, error) {
	var rep Report
	f, err := os.CreateTemp(dir, "callgate-verify-*.db")
	if err != nil {
		return rep, gateway.Errorf(gateway.KindInternal, "cannot make a scratch file for verify: %w", err)
	}
	f.Close()
	defer os.Remove(f.Name())
	sdb, err := bolt.Open(f.Name(), 0o600, &bolt.Options{Timeout: time.Second, NoSync: true, NoFreelistSync: true})
	if err != nil {
		return rep, gateway.Errorf(gateway.KindInternal, "cannot open the scratch file for verify: %w", err)
	}
	defer sdb.Close()
	scratch := &Journal{db: sdb, path: f.Name(), opt: j.opt, epoch: j.epoch, genesis: j.genesis}
	err = sdb.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, gateway.Errorf(gateway.KindInternal, "scratch file for verify: %w", err)
	}
	err = j.view(ctx, "verify itself", func(tx *bolt.Tx) error {
		if err := j.checkChain(ctx, tx, scratch, &rep); err != nil {
			return err
		}
		for err := range tx.Check() {
			rep.add("file: %v", err)
		}
		return sdb.View(func(stx *bolt.Tx) error {
			compareProjections(tx, stx, j.now().Add(-j.opt.ReplayWindow), &rep)
			return nil
		})
	})
	if err == nil {
		c, cerr := j.Counts(ctx)
		rep.Entries, err = c.Entries, cerr
	}
	return rep, err
}

// checkChain walks the log in order, checks each hash and sequence number,
// and replays every event into scratch.
func (j *Journal) checkChain(ctx context.Context, tx *bolt.Tx, scratch *Journal, rep *Report) error {
	events, pruned := tx.Bucket(bEvents), tx.Bucket(bPruned)
	rep.LastSeq = events.Sequence()
	prev, expect := j.genesis, uint64(1)
	var batch []*event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := scratch.db.Update(func(stx *bolt.Tx) error {
			w, err := scratch.newTxw(stx)
			if err != nil {
				return err
			}
			for _, ev := range batch {
				if err := w.apply(ev); err != nil {
					return fmt.Errorf("event %d: %w", ev.seq, err)
				}
			}
			return w.flush()
		})
		batch = batch[:0]
		if err != nil {
			rep.add("rebuilding from the events failed: %v", err)
		}
		return ctx.Err()
	}
	// skip accounts for sequence numbers below seq that retention removed.
	skip := func(seq uint64) {
		for expect < seq {
			v := pruned.Get(be64(expect))
			if len(v) != 40 || u64(v) < expect {
				rep.add("events %d to %d are missing: they were removed without a record of it", expect, seq-1)
				expect = seq
				return
			}
			rep.Pruned += u64(v) - expect + 1
			copy(prev[:], v[8:])
			expect = u64(v) + 1
		}
	}
	c := events.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq := u64(k)
		skip(seq)
		if seq != expect {
			rep.add("event %d is out of place (expected %d)", seq, expect)
		}
		expect = seq + 1
		rep.Events++
		if len(v) < 33 {
			rep.add("event %d is damaged: it is too short", seq)
			continue
		}
		body := v[32:]
		if h := chainHash(prev, body); subtle.ConstantTimeCompare(h[:], v[:32]) != 1 {
			rep.add("event %d does not match its hash: it was changed after it was written, or an event before it was", seq)
		}
		copy(prev[:], v[:32])
		ev, err := decodeEvent(body)
		if err != nil {
			rep.add("event %d cannot be read: %v", seq, err)
			continue
		}
		if ev.seq != seq {
			rep.add("event %d says it is event %d", seq, ev.seq)
		}
		batch = append(batch, ev)
		if len(batch) >= 20000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	skip(rep.LastSeq + 1)
	if err := flush(); err != nil {
		return err
	}
	head := tx.Bucket(bMeta).Get(kHead)
	switch {
	case rep.LastSeq == 0 && head == nil:
	case len(head) != 40 || u64(head) != rep.LastSeq || !bytes.Equal(head[8:], prev[:]):
		rep.add("the journal's head does not name its last event %d and that event's hash", rep.LastSeq)
	}
	return nil
}

// compareProjections compares every projection of the journal (tx) with the
// rebuild (stx). Replay digests older than expired are ignored: Tidy forgets
// them, a rebuild does not.
func compareProjections(tx, stx *bolt.Tx, expired time.Time, rep *Report) {
	for _, name := range projectionBuckets {
		skip := func([]byte, []byte) bool { return false }
		if bytes.Equal(name, bReplay) {
			cut := micros(expired)
			skip = func(_, v []byte) bool { return len(v) == 16 && int64(binary.BigEndian.Uint64(v[8:])) < cut }
		}
		diffs := 0
		a, b := tx.Bucket(name).Cursor(), stx.Bucket(name).Cursor()
		ka, va := a.First()
		kb, vb := b.First()
		for ka != nil || kb != nil {
			if ka != nil && skip(ka, va) {
				ka, va = a.Next()
				continue
			}
			if kb != nil && skip(kb, vb) {
				kb, vb = b.Next()
				continue
			}
			switch c := compareKeys(ka, kb); {
			case c == 0:
				if !bytes.Equal(va, vb) {
					diffs++
					if diffs <= 3 {
						rep.add("projection %s: key %x differs from a rebuild from the events", name, ka)
					}
				}
				ka, va = a.Next()
				kb, vb = b.Next()
			case c < 0:
				diffs++
				if diffs <= 3 {
					rep.add("projection %s: key %x is not in a rebuild from the events", name, ka)
				}
				ka, va = a.Next()
			default:
				diffs++
				if diffs <= 3 {
					rep.add("projection %s: key %x of a rebuild from the events is missing", name, kb)
				}
				kb, vb = b.Next()
			}
		}
		if diffs > 3 {
			rep.add("projection %s: %d differences in all", name, diffs)
		}
	}
	m, sm := tx.Bucket(bMeta), stx.Bucket(bMeta)
	for _, k := range projectionKeys {
		if !bytes.Equal(m.Get(k), sm.Get(k)) {
			rep.add("meta %s is %x, a rebuild from the events gives %x", k, m.Get(k), sm.Get(k))
		}
	}
}

// compareKeys orders keys with nil (the end of a cursor) last.
func compareKeys(a, b []byte) int {
	switch {
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return bytes.Compare(a, b)
}

// Rebuild recreates every projection from the events, in one transaction:
// the repair when Verify reports a projection that differs. It returns the
// number of events replayed.
func (j *Journal) Rebuild(ctx context.Context) (int, error) {
	n := 0
	err := j.update(ctx, "rebuild its indices", func(tx *bolt.Tx) error {
		var err error
		n, err = j.rebuild(ctx, tx)
		return err
	})
	if err == nil {
		j.log.Info().Int("events", n).Msg("journal projections rebuilt")
	}
	return n, err
}

func (j *Journal) rebuild(ctx context.Context, tx *bolt.Tx) (int, error) {
	for _, name := range projectionBuckets {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return 0, err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return 0, err
		}
	}
	for _, k := range projectionKeys {
		if err := tx.Bucket(bMeta).Delete(k); err != nil {
			return 0, err
		}
	}
	w, err := j.newTxw(tx)
	if err != nil {
		return 0, err
	}
	n := 0
	c := tx.Bucket(bEvents).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) < 33 {
			return n, fmt.Errorf("event %d is damaged", u64(k))
		}
		ev, err := decodeEvent(v[32:])
		if err != nil {
			return n, err
		}
		if err := w.apply(ev); err != nil {
			return n, fmt.Errorf("event %d: %w", ev.seq, err)
		}
		n++
		if n%10000 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	return n, w.flush()
}

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
			recs, err := prunable(tx, micros(before), 0)
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
			n, m, err = w.prune(micros(before), 2000)
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

// prunable lists up to limit (0: all) closed entries older than before.
func prunable(tx *bolt.Tx, before int64, limit int) ([]*rec, error) {
	var out []*rec
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
func (w *txw) prune(before int64, limit int) (int, int, error) {
	recs, err := prunable(w.tx, before, limit)
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

// Compact rewrites the journal at path into a new file without the free
// pages bbolt never returns, then puts it in place of the old one. It needs
// the journal stopped (it takes the lock like Open) and returns the file's
// size before and after.
func Compact(path string, o Options) (before, after int64, err error) {
	src, err := Open(path, o)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, gateway.Errorf(gateway.KindInternal, "cannot read %s: %w", path, err)
	}
	tmp := path + ".compact"
	os.Remove(tmp)
	fail := func(err error) (int64, int64, error) {
		os.Remove(tmp)
		return 0, 0, gateway.Errorf(gateway.KindInternal, "cannot compact the journal %s (it is unchanged): %w", path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fail(err)
	}
	if err := bolt.Compact(dst, src.db, 64<<20); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	// The copy must be the same journal: same epoch, same head.
	in, err := src.Info(context.Background())
	if err != nil {
		return fail(err)
	}
	cp, err := Open(tmp, Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fail(err)
	}
	cin, err := cp.Info(context.Background())
	cp.Close()
	if err != nil {
		return fail(err)
	}
	if cin.Epoch != in.Epoch || cin.LastSeq != in.LastSeq {
		return fail(fmt.Errorf("the copy differs (epoch %s seq %d, want %s seq %d)", cin.Epoch, cin.LastSeq, in.Epoch, in.LastSeq))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(path))
	nst, err := os.Stat(path)
	if err != nil {
		return st.Size(), 0, nil
	}
	return st.Size(), nst.Size(), nil
}
