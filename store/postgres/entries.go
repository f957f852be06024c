package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
)

// CentralEntry is a journal entry as the central holds it: which property
// and epoch it came from, and the entry as the property's journal shows it
// (without the raw record, which stays in the entry's first event).
type CentralEntry struct {
	Property string
	Epoch    string
	gateway.Entry
}

// Entries returns the entries of the properties named (nil: every
// property) whose entry time is in [from, to), ordered by entry time, then
// property, epoch and entry; with history, each with its state changes from
// the events. The reports of gateway/report run over them as over a
// property's journal (one definition of each report).
func (s *Store) Entries(ctx context.Context, properties []string, from, to time.Time, history bool) ([]CentralEntry, error) {
	var out []CentralEntry
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT property, epoch, entry, created_utc, state, updated_utc, last_seq, received_utc, source,
			room, reservation, posting, sent_utc, pms_answer, pms_answer_text, answer_utc, replays, entry_utc, call::text, charge::text
			FROM callgate.call_state
			WHERE ($1::text[] IS NULL OR property = ANY($1)) AND superseded_by IS NULL AND entry_utc >= $2 AND entry_utc < $3
			ORDER BY entry_utc, property, epoch, entry`, properties, from.UTC(), to.UTC())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ce CentralEntry
			// The first two columns name the stream; the rest are
			// loadCalls' (scanCall reads them).
			r, err := scanCall(&prefixed{Rows: rows, prefix: []any{&ce.Property, &ce.Epoch}})
			if err != nil {
				return err
			}
			ce.Entry = r.entry_()
			out = append(out, ce)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if history && len(out) > 0 {
			return addHistory(ctx, tx, out)
		}
		return nil
	})
	if err != nil {
		return nil, classify(err, "read the entries")
	}
	return out, nil
}

// CountEntries returns how many entries Entries would return (without
// reading them): the chain console checks a report's size first.
func (s *Store) CountEntries(ctx context.Context, properties []string, from, to time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM callgate.call_state
		WHERE ($1::text[] IS NULL OR property = ANY($1)) AND superseded_by IS NULL AND entry_utc >= $2 AND entry_utc < $3`, properties, from.UTC(), to.UTC()).Scan(&n)
	if err != nil {
		return 0, classify(err, "count the entries")
	}
	return n, nil
}

// prefixed scans its prefix's columns first, then passes the rest on.
type prefixed struct {
	pgx.Rows
	prefix []any
}

func (p *prefixed) Scan(dest ...any) error { return p.Rows.Scan(append(p.prefix, dest...)...) }

// entry_ is the row as the journal's gateway.Entry.
func (r *callRow) entry_() gateway.Entry {
	e := gateway.Entry{ID: gateway.EntryID(r.entry), State: r.state, Time: r.entryAt, Call: r.call, Charge: r.charge,
		Room: deref(r.room), Reservation: deref(r.reservation), Posting: r.posting, Replays: r.replays, Updated: r.updated}
	if r.received != nil {
		e.Raw.Received = *r.received
	}
	e.Raw.Source = deref(r.source)
	if r.sent != nil {
		e.Sent = *r.sent
	}
	if r.answer != nil {
		e.Answer = &gateway.Answer{Code: *r.answer, Text: deref(r.answerText)}
		if r.answerAt != nil {
			e.Answer.Time = *r.answerAt
		}
	}
	return e
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// addHistory fills each entry's History from its stream's events: the
// creating event and every move, as the journal's history shows them.
func addHistory(ctx context.Context, tx pgx.Tx, es []CentralEntry) error {
	type key struct {
		property, epoch string
		entry           uint64
	}
	at := map[key]int{}
	streams := map[[2]string][]int64{}
	for i := range es {
		e := &es[i]
		at[key{e.Property, e.Epoch, uint64(e.ID)}] = i
		k := [2]string{e.Property, e.Epoch}
		streams[k] = append(streams[k], int64(e.ID))
	}
	for k, ids := range streams {
		rows, err := tx.Query(ctx, `SELECT entry, seq, kind, time_utc, time_local, from_state, to_state, actor, reason
			FROM callgate.event WHERE property = $1 AND epoch = $2 AND entry = ANY($3) AND kind IN ('captured', 'imported', 'moved')
			ORDER BY entry, seq`, k[0], k[1], ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var entry, seq int64
			var kind, from, to, actor, reason string
			var t, local time.Time
			if err := rows.Scan(&entry, &seq, &kind, &t, &local, &from, &to, &actor, &reason); err != nil {
				rows.Close()
				return err
			}
			e := &es[at[key{k[0], k[1], uint64(entry)}]]
			sc := gateway.StateChange{Seq: uint64(seq), Time: t.UTC(), Local: local, From: gateway.State(from), To: gateway.State(to), Actor: actor, Reason: reason}
			if kind != string(gateway.EventMoved) {
				sc.From, sc.To = "", gateway.StateCaptured
				if kind == string(gateway.EventImported) {
					sc.To = gateway.StateImported
				}
			}
			e.History = append(e.History, sc)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
