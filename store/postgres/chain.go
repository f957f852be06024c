package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
)

// The chain console's reads (docs/chain-console.md). Every one takes the
// properties it may read (nil: every property); the console passes the
// user's list, so no query can reach a property the user may not see.

// CallFilter selects calls across properties for the chain console's list.
type CallFilter struct {
	// Properties are the properties read (nil: every property).
	Properties []string
	// From and To are local dates, both inclusive, each call's own
	// property's (only their year, month and day count); zero: open.
	From, To time.Time
	// Room, Extension, State and Class match exactly when set.
	Room, Extension, State, Class string
	// Offset and Limit page the list, newest first.
	Offset, Limit int
}

// callsWhere is the calls list's selection (callsArgs gives its
// arguments $1 to $9), and callsOrder its order.
const callsWhere = `FROM callgate.call_state c LEFT JOIN callgate.site s ON s.property = c.property
		WHERE ($1::text[] IS NULL OR c.property = ANY($1)) AND c.superseded_by IS NULL
		  AND ($2::timestamptz IS NULL OR c.entry_utc >= $2) AND ($3::timestamptz IS NULL OR c.entry_utc < $3)
		  AND ($4::date IS NULL OR (c.entry_utc AT TIME ZONE COALESCE(NULLIF(s.timezone, ''), 'UTC'))::date >= $4)
		  AND ($5::date IS NULL OR (c.entry_utc AT TIME ZONE COALESCE(NULLIF(s.timezone, ''), 'UTC'))::date <= $5)
		  AND ($6 = '' OR c.room = $6) AND ($7 = '' OR c.extension = $7) AND ($8 = '' OR c.state = $8) AND ($9 = '' OR c.class = $9)`

const callsOrder = ` ORDER BY c.entry_utc DESC, c.property, c.epoch, c.entry DESC`

const callsCols = `c.property, c.epoch, c.entry, c.created_utc, c.state, c.updated_utc, c.last_seq, c.received_utc, c.source,
			c.room, c.reservation, c.posting, c.sent_utc, c.pms_answer, c.pms_answer_text, c.answer_utc, c.replays, c.entry_utc, c.call::text, c.charge::text`

func callsArgs(f CallFilter) []any {
	var from, to, lo, hi *time.Time
	if !f.From.IsZero() {
		d := time.Date(f.From.Year(), f.From.Month(), f.From.Day(), 0, 0, 0, 0, time.UTC)
		// A day's margin either side of the UTC date catches every zone;
		// the local date decides. The bounds let the entry_utc index work.
		l := d.Add(-26 * time.Hour)
		from, lo = &d, &l
	}
	if !f.To.IsZero() {
		d := time.Date(f.To.Year(), f.To.Month(), f.To.Day(), 0, 0, 0, 0, time.UTC)
		h := d.Add(50 * time.Hour)
		to, hi = &d, &h
	}
	return []any{f.Properties, lo, hi, from, to, f.Room, f.Extension, f.State, f.Class}
}

// Calls returns the entries f selects, newest entry time first (then
// property, epoch and entry), without history.
func (s *Store) Calls(ctx context.Context, f CallFilter) ([]CentralEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT `+callsCols+` `+callsWhere+callsOrder+` OFFSET $10 LIMIT $11`, append(callsArgs(f), f.Offset, f.Limit)...)
	if err != nil {
		return nil, classify(err, "list the calls")
	}
	defer rows.Close()
	var out []CentralEntry
	for rows.Next() {
		var ce CentralEntry
		r, err := scanCall(&prefixed{Rows: rows, prefix: []any{&ce.Property, &ce.Epoch}})
		if err != nil {
			return nil, classify(err, "list the calls")
		}
		ce.Entry = r.entry_()
		out = append(out, ce)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "list the calls")
	}
	return out, nil
}

// EachCall calls fn with every call f selects (its Offset and Limit
// aside), in the list's order, page entries at a time (default 2,000),
// from one snapshot: the export of the chain console, written as the rows
// come (scanCursor: a cursor in a REPEATABLE READ read-only transaction).
// count, when set, is given how many calls that is first, in the same
// snapshot; an error from it stops the scan before any page. fn may not
// keep the page; an error from fn, or ctx ending (the client gone), stops
// the scan and is returned.
func (s *Store) EachCall(ctx context.Context, f CallFilter, page int, count func(int64) error, fn func([]CentralEntry) error) error {
	c := cursor{q: `DECLARE entries NO SCROLL CURSOR FOR SELECT ` + callsCols + ` ` + callsWhere + callsOrder, args: callsArgs(f), page: page, count: count}
	if count != nil {
		c.countQ = `SELECT count(*) ` + callsWhere
	}
	return scanErr(ctx, scanCursor(ctx, s, c, fn), "export the calls")
}

// DayTotal is one property's calls and revenue of one local day in one
// currency, counted as gateway.Tally counts them (the property's
// dashboard's definition): chargeable calls not voided, and the totals
// posted by the PMS or by hand (Charge.Postable is chargeable, no
// exception, a positive total).
type DayTotal struct {
	Property, Currency string
	Calls              int64
	RevenueMinor       int64
}

// Today returns, per property read (nil: every property) and currency, the
// calls and revenue of the property's own local day at now, in its own
// time zone (UTC for a property that has not shipped one).
func (s *Store) Today(ctx context.Context, properties []string, now time.Time) ([]DayTotal, error) {
	now = now.UTC()
	rows, err := s.pool.Query(ctx, `SELECT c.property, c.currency,
			count(*) FILTER (WHERE c.state <> $4),
			COALESCE(sum(c.total_minor) FILTER (WHERE c.state IN ($5, $6)), 0)
		FROM callgate.call_state c LEFT JOIN callgate.site s ON s.property = c.property
		WHERE ($1::text[] IS NULL OR c.property = ANY($1)) AND c.superseded_by IS NULL
		  AND c.entry_utc >= $2 AND c.entry_utc < $3 AND c.chargeable AND c.exception IS NULL AND c.total_minor > 0 AND c.currency IS NOT NULL
		  AND (c.entry_utc AT TIME ZONE COALESCE(NULLIF(s.timezone, ''), 'UTC'))::date = ($7::timestamptz AT TIME ZONE COALESCE(NULLIF(s.timezone, ''), 'UTC'))::date
		GROUP BY c.property, c.currency
		ORDER BY c.property, c.currency`,
		properties, now.Add(-27*time.Hour), now.Add(27*time.Hour),
		string(gateway.StateVoided), string(gateway.StatePosted), string(gateway.StatePostedByHand), now)
	if err != nil {
		return nil, classify(err, "count today's calls")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayTotal, error) {
		var d DayTotal
		err := r.Scan(&d.Property, &d.Currency, &d.Calls, &d.RevenueMinor)
		return d, err
	})
	if err != nil {
		return nil, classify(err, "count today's calls")
	}
	return out, nil
}
