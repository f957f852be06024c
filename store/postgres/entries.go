package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
// the events: EachEntry's pages, gathered (for tests and small periods).
func (s *Store) Entries(ctx context.Context, properties []string, from, to time.Time, history bool) ([]CentralEntry, error) {
	var out []CentralEntry
	err := s.EachEntry(ctx, EntryScan{Properties: properties, From: from, To: to, History: history}, func(page []CentralEntry) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// EntryScan says which entries EachEntry reads, in which order.
type EntryScan struct {
	// Properties are the properties read (nil: every property).
	Properties []string
	// From and To bound the entry time: [From, To).
	From, To time.Time
	// History: each entry with its state changes.
	History bool
	// ByStart orders the entries by the wall clock of their call's start
	// (calls without one last), then as by default: entry time, property,
	// epoch, entry. PostgreSQL sorts the period's rows for it (no index
	// holds that order).
	ByStart bool
	// Page is the most entries fn is given at once (default 2,000).
	Page int
}

// EachEntry calls fn with the entries sc selects, a page at a time, as the
// properties' journals show them (the reports of gateway/report fold
// them: one definition of each report). The rows come through a cursor
// of one REPEATABLE READ read-only transaction: one snapshot, however many
// rows, never more than a page of them in memory here, and no OFFSET. fn
// may not keep the page (it is reused); an error from fn, or ctx ending,
// stops the scan and is returned.
func (s *Store) EachEntry(ctx context.Context, sc EntryScan, fn func([]CentralEntry) error) error {
	order := "entry_utc, property, epoch, entry"
	if sc.ByStart {
		order = "start_local NULLS LAST, " + order
	}
	q := `DECLARE entries NO SCROLL CURSOR FOR
		SELECT property, epoch, entry, created_utc, state, updated_utc, last_seq, received_utc, source,
			room, reservation, posting, sent_utc, pms_answer, pms_answer_text, answer_utc, replays, entry_utc, call::text, charge::text
		FROM callgate.call_state
		WHERE ($1::text[] IS NULL OR property = ANY($1)) AND superseded_by IS NULL AND entry_utc >= $2 AND entry_utc < $3
		ORDER BY ` + order
	err := scanCursor(ctx, s, cursor{page: sc.Page, history: sc.History, q: q, args: []any{sc.Properties, sc.From.UTC(), sc.To.UTC()}}, fn)
	return scanErr(ctx, err, "read the entries")
}

// callerErr is an error of scanCursor's caller (fn's, count's), told from
// PostgreSQL's.
type callerErr struct{ err error }

func (e callerErr) Error() string { return e.err.Error() }
func (e callerErr) Unwrap() error { return e.err }

// scanErr is what a scan returns for err: the caller's own error as it is
// (a report's refusal, a client's write error: not PostgreSQL's); the
// request's end as such (the client gone, the console stopping), never as
// PostgreSQL not reachable; else PostgreSQL's error, classified.
func scanErr(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	var ce callerErr
	if errors.As(err, &ce) {
		return ce.err
	}
	if ctx.Err() != nil {
		return gateway.Wrap(gateway.KindTransient, ctx.Err(), fmt.Sprintf("the central did not %s to the end: the request ended (the client went away, or the central is stopping)", what))
	}
	return classify(err, what)
}

// cursor is a scan of call_state rows: q declares the cursor "entries"
// over them with args; countQ, when set, counts them first (count is
// given the number, in the same snapshot).
type cursor struct {
	q, countQ string
	args      []any
	count     func(int64) error
	page      int
	history   bool
}

// scanCursor declares the cursor in a REPEATABLE READ read-only
// transaction and fetches it a page at a time into fn.
func scanCursor(ctx context.Context, s *Store, c cursor, fn func([]CentralEntry) error) error {
	page := c.page
	if page <= 0 {
		page = 2000
	}
	history := c.history
	fetch := "FETCH FORWARD " + strconv.Itoa(page) + " FROM entries"
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if c.countQ != "" && c.count != nil {
			var n int64
			if err := tx.QueryRow(ctx, c.countQ, c.args...).Scan(&n); err != nil {
				return err
			}
			if err := c.count(n); err != nil {
				return callerErr{err}
			}
		}
		if _, err := tx.Exec(ctx, c.q, c.args...); err != nil {
			return err
		}
		buf := make([]CentralEntry, 0, page)
		created := make([]time.Time, 0, page)
		for {
			buf, created = buf[:0], created[:0]
			rows, err := tx.Query(ctx, fetch)
			if err != nil {
				return err
			}
			for rows.Next() {
				var ce CentralEntry
				// The first two columns name the stream; the rest are
				// loadCalls' (scanCall reads them).
				r, err := scanCall(&prefixed{Rows: rows, prefix: []any{&ce.Property, &ce.Epoch}})
				if err != nil {
					rows.Close()
					return err
				}
				ce.Entry = r.entry_()
				buf = append(buf, ce)
				created = append(created, r.created)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(buf) == 0 {
				return nil
			}
			if history {
				if err := addHistory(ctx, tx, buf, created); err != nil {
					return err
				}
			}
			if err := fn(buf); err != nil {
				return callerErr{err}
			}
			clear(buf)
			if len(buf) < page {
				return nil
			}
		}
	})
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

// historySlack is how far before its entry's creation an entry's event
// may be stamped and still be read into its history: the property's clock
// set back after the entry was made (Apply refuses events stamped more than
// maxAhead after the central's clock, so a clock that ran fast when the
// entry was made and was set right later stays within it). An event
// stamped earlier still is left out of the history (docs/central.md,
// "Reports' histories").
const historySlack = maxAhead

// historySQL reads the histories of one stream's entries $3, from events
// stamped at or after $4: the page's earliest entry creation less
// historySlack, so that older months' partitions are pruned, and the
// event_entry index (migration 006) finds each entry's events.
const historySQL = `SELECT entry, seq, kind, time_utc, time_local, from_state, to_state, actor, reason
	FROM callgate.event WHERE property = $1 AND epoch = $2 AND entry = ANY($3) AND time_utc >= $4
		AND kind IN ('captured', 'imported', 'moved')
	ORDER BY entry, seq`

// addHistory fills each entry's History from its stream's events: the
// creating event and every move, as the journal's history shows them.
// created[i] is es[i]'s creation time (call_state.created_utc: its first
// event's).
func addHistory(ctx context.Context, tx pgx.Tx, es []CentralEntry, created []time.Time) error {
	type key struct {
		property, epoch string
		entry           uint64
	}
	at := map[key]int{}
	streams := map[[2]string][]int64{}
	since := map[[2]string]time.Time{}
	for i := range es {
		e := &es[i]
		at[key{e.Property, e.Epoch, uint64(e.ID)}] = i
		k := [2]string{e.Property, e.Epoch}
		streams[k] = append(streams[k], int64(e.ID))
		if t, ok := since[k]; !ok || created[i].Before(t) {
			since[k] = created[i]
		}
	}
	for k, ids := range streams {
		rows, err := tx.Query(ctx, historySQL, k[0], k[1], ids, since[k].Add(-historySlack))
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
