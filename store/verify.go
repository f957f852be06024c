package store

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"os"
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
		// The pages are read here first, under the journal's guard: bbolt's
		// tx.Check reads them in a goroutine of its own, where a damaged
		// page's fault would end the process (see damage.go).
		if err := walk(tx); err != nil {
			return gateway.Errorf(gateway.KindInternal, "the journal %s is damaged (%v): %s", j.path, err, fixDamaged)
		}
		// The walk reads leaves through cursors; the keys of branch pages
		// and what every element points to are checked from the file
		// (pagecheck.go), so that bbolt's check below meets no page it
		// would fault on.
		if err := checkPages(tx, j.path); err != nil {
			rep.add("file: %v", err)
			return sdb.View(func(stx *bolt.Tx) error {
				compareProjections(tx, stx, j.now().Add(-j.opt.ReplayWindow), &rep)
				return nil
			})
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
