package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"callgate/gateway"
)

// Capture journals a raw record before anything else happens to it, or
// counts it as a replay; see gateway.Journal.
func (j *Journal) Capture(ctx context.Context, r gateway.RawRecord) (gateway.Captured, error) {
	if len(r.Data) == 0 {
		return gateway.Captured{}, gateway.Errorf(gateway.KindInvalid, "a raw record with no bytes cannot be journaled")
	}
	var out gateway.Captured
	err := j.write(ctx, "journal a raw record", func(w *txw) error {
		w.cacheRecs()
		var err error
		out, err = w.capture(r)
		return err
	})
	if err != nil {
		return gateway.Captured{}, err
	}
	return out, nil
}

// capture appends a raw record's captured event, or its replayed event on
// the entry first captured with the same bytes.
func (w *txw) capture(r gateway.RawRecord) (gateway.Captured, error) {
	now := w.j.now()
	received := r.Received.UTC().Truncate(time.Microsecond)
	if r.Received.IsZero() {
		received = now
	}
	if id, ok := w.replayOf(r.Data, received); ok {
		return gateway.Captured{ID: gateway.EntryID(id), Replay: true},
			w.append(&event{kind: gateway.EventReplayed, entry: id, at: now, received: received, source: r.Source})
	}
	id := w.entryN + 1
	return gateway.Captured{ID: gateway.EntryID(id)}, w.append(&event{kind: gateway.EventCaptured, entry: id, at: now, to: gateway.StateCaptured,
		raw: r.Data, received: received, source: r.Source, truncated: r.Truncated, cut: r.Cut})
}

// CaptureAll journals raw records with the moves decided for them, in one
// transaction; see gateway.Journal.
func (j *Journal) CaptureAll(ctx context.Context, cs []gateway.Capture) ([]gateway.Captured, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	if err := gateway.CheckCaptures(cs); err != nil {
		return nil, err
	}
	out := make([]gateway.Captured, len(cs))
	err := j.write(ctx, fmt.Sprintf("journal %d raw records", len(cs)), func(w *txw) error {
		w.cacheRecs()
		for i, c := range cs {
			cp, err := w.capture(c.Rec)
			if err != nil {
				return err
			}
			out[i] = cp
			if cp.Replay {
				continue
			}
			for _, ch := range c.Moves {
				if err := w.move(cp.ID, ch); err != nil {
					return fmt.Errorf("record %d of the batch (entry %d): %w", i+1, cp.ID, err)
				}
			}
			if !c.Send {
				continue
			}
			// The checks of a move come before its event: a sending
			// refused leaves the entry queued, and the batch goes on.
			err = w.move(cp.ID, gateway.Change{To: gateway.StateSent, Alone: true})
			if gateway.IsKind(err, gateway.KindInvalid) || gateway.IsTransient(err) {
				continue
			}
			if err != nil {
				return err
			}
			en, err := w.entryOf(uint64(cp.ID))
			if err != nil {
				return err
			}
			out[i].Sent = &en
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// replayOf returns the entry first captured with raw, if that was within the
// replay window of received and the entry is still in the journal.
func (w *txw) replayOf(raw []byte, received time.Time) (uint64, bool) {
	v := w.replay.Get(digest(raw))
	if len(v) != 16 {
		return 0, false
	}
	id, then := u64(v), fromMicros(int64(u64(v[8:])))
	d := received.Sub(then)
	if d < 0 {
		d = -d
	}
	if d > w.j.opt.ReplayWindow || !w.exists(id) {
		return 0, false
	}
	return id, true
}

// Move moves an entry to another state with the facts that come with the
// move; see gateway.Journal.
func (j *Journal) Move(ctx context.Context, id gateway.EntryID, c gateway.Change) (gateway.Entry, error) {
	if !c.To.Valid() {
		return gateway.Entry{}, gateway.Errorf(gateway.KindInvalid, "%q is not a journal state", c.To)
	}
	var out gateway.Entry
	err := j.write(ctx, fmt.Sprintf("move entry %d", id), func(w *txw) error {
		w.cacheRecs()
		if err := w.move(id, c); err != nil {
			return err
		}
		var err error
		out, err = w.entryOf(uint64(id))
		return err
	})
	if err != nil {
		return gateway.Entry{}, err
	}
	return out, nil
}

// MoveAll makes several moves in one transaction, all or nothing; see
// gateway.Journal.
func (j *Journal) MoveAll(ctx context.Context, moves []gateway.Move) (gateway.Entry, error) {
	if len(moves) == 0 {
		return gateway.Entry{}, nil
	}
	if err := gateway.CheckStates(moves); err != nil {
		return gateway.Entry{}, err
	}
	var out gateway.Entry
	err := j.write(ctx, movesText(moves), func(w *txw) error {
		w.cacheRecs()
		for _, m := range moves {
			if err := w.move(m.ID, m.Change); err != nil {
				return err
			}
		}
		// Only the last entry is read back: an entry costs tens of
		// microseconds to decode, inside the write.
		var err error
		out, err = w.entryOf(uint64(moves[len(moves)-1].ID))
		return err
	})
	if err != nil {
		return gateway.Entry{}, err
	}
	return out, nil
}

// movesText names a batch of moves for an error: "move entry 7 to rated,
// queued; entry 6 to posted".
func movesText(moves []gateway.Move) string {
	var b strings.Builder
	b.WriteString("move ")
	for i, m := range moves {
		if i == 0 || m.ID != moves[i-1].ID {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "entry %d to ", m.ID)
		} else {
			b.WriteString(", ")
		}
		b.WriteString(string(m.To))
	}
	return b.String()
}

// move makes one move in the transaction: it checks it and appends its event
// (two for a person's repost or transfer).
func (w *txw) move(id gateway.EntryID, c gateway.Change) error {
	r, err := w.getRec(uint64(id))
	if err != nil {
		return err
	}
	if err := w.checkMove(r, c); err != nil {
		return err
	}
	now := w.j.now()
	ev := &event{kind: gateway.EventMoved, entry: r.id, at: now, actor: c.Actor, reason: c.Reason,
		from: r.state, to: c.To, call: c.Call, charge: c.Charge, room: c.Room, reservation: c.Reservation}
	if c.Answer != nil {
		ev.answer = &gateway.Answer{Code: c.Answer.Code, Text: c.Answer.Text, Time: now}
	}
	// The posting number is given when the posting is first sent, so that
	// numbers go out in sending order (docs/journal.md "Posting numbers").
	// A posting the PMS answered "not now" keeps its number.
	if c.To == gateway.StateSent && r.posting == 0 {
		if ev.posting, err = w.nextPosting(); err != nil {
			return err
		}
	}
	if err := w.append(ev); err != nil {
		return err
	}
	if c.To == gateway.StateReposted || c.To == gateway.StateTransferred {
		// A person's repost or transfer goes back to the queue at once,
		// without its number: it is sent under a new one.
		if err := w.append(&event{kind: gateway.EventMoved, entry: r.id, at: now, from: c.To, to: gateway.StateQueued,
			reason: fmt.Sprintf("%s by %s: queued again, to be sent under a new posting number", c.To, c.Actor)}); err != nil {
			return err
		}
	}
	return nil
}

// checkMove enforces the rules of gateway.Journal.Move.
func (w *txw) checkMove(r *rec, c gateway.Change) error {
	e := gateway.Entry{ID: gateway.EntryID(r.id), State: r.state, Room: r.room, Reservation: r.reservation, Charge: r.charge}
	return gateway.CheckMove(e, c, w.count)
}

// nextPosting gives the next posting number: one above the last, wrapping to
// 1 after the maximum, skipping numbers held by unresolved entries.
func (w *txw) nextPosting() (uint32, error) {
	return gateway.NextPosting(w.posting, w.j.opt.PostingMax, func(n uint32) bool { return w.held.Get(be32(n)) != nil })
}

// Import journals historical records in one transaction; see
// gateway.Journal.
func (j *Journal) Import(ctx context.Context, recs []gateway.ImportRecord) (gateway.Imported, error) {
	if err := gateway.CheckImport(recs); err != nil {
		return gateway.Imported{}, err
	}
	out := gateway.Imported{IDs: make([]gateway.EntryID, len(recs))}
	err := j.write(ctx, "import records", func(w *txw) error {
		out.Duplicates = 0
		now := j.now()
		// Only by_time is read while importing (duplicates): the other
		// indices are put at the end, in key order.
		w.sorted = &[4][][]byte{}
		for i, r := range recs {
			received := r.Raw.Received.UTC().Truncate(time.Microsecond)
			if r.Raw.Received.IsZero() {
				received = now
			}
			dup, err := w.imported(r.Raw.Data, r.Call, received)
			if err != nil {
				return err
			}
			if dup {
				out.IDs[i] = 0
				out.Duplicates++
				continue
			}
			id := w.entryN + 1
			out.IDs[i] = gateway.EntryID(id)
			err = w.append(&event{kind: gateway.EventImported, entry: id, at: now, to: gateway.StateImported,
				raw: r.Raw.Data, received: received, source: r.Raw.Source, truncated: r.Raw.Truncated, cut: r.Raw.Cut,
				call: r.Call, charge: r.Charge, room: r.Room})
			if err != nil {
				return err
			}
		}
		return w.putSorted()
	})
	if err != nil {
		return gateway.Imported{}, err
	}
	return out, nil
}

// imported reports whether an entry with the same time and raw bytes is in
// the journal already. Imports look for duplicates this way, not in the
// replay index: a random-keyed index would make every batch rewrite most of
// its pages, and history has no replay window.
func (w *txw) imported(raw []byte, c *gateway.Call, received time.Time) (bool, error) {
	t := micros(received)
	if !c.StartUTC.IsZero() {
		t = c.StartUTC.UTC().Truncate(time.Second).UnixMicro() // as setCall indexes it
	}
	cur := w.byTime.Cursor()
	prefix := timeKey(t)
	for k, _ := cur.Seek(prefix); k != nil && string(k[:8]) == string(prefix); k, _ = cur.Next() {
		id := u64(k[8:])
		other, ok := rawOf(w.entries.Get(be64(id)))
		if !ok {
			return false, fmt.Errorf("entry %d: %w", id, errRecord)
		}
		if string(other) == string(raw) {
			return true, nil
		}
	}
	return false, nil
}

// Audit appends a record to the audit log; see gateway.Journal.
func (j *Journal) Audit(ctx context.Context, a gateway.AuditRecord) error {
	if strings.TrimSpace(a.Actor) == "" || strings.TrimSpace(a.Action) == "" {
		return gateway.Errorf(gateway.KindInvalid, "an audit record needs who (actor) and what (action)")
	}
	return j.write(ctx, "record an audit record", func(w *txw) error {
		return w.append(&event{kind: gateway.EventAudit, at: j.now(), actor: a.Actor, reason: a.Reason, audit: &a})
	})
}
