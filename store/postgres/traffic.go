package postgres

import (
	"context"
	"time"

	"callgate/gateway"
)

// Busy hour in SQL (docs/chain-console.md, "Busy hour in SQL"). The
// busy-hour and busy-days reports need, per clock hour of the period, how
// many trunk calls started in it and how many connected seconds fell in
// it. gateway/report folds that from the entries (traffic.go there); over
// a chain's month (100 properties × 100,000 calls) streaming the entries
// costs more than the goal allows, so PostgreSQL folds it here, reading
// only the covering index call_state_traffic, and gateway/report makes the
// same table from the hourly figures. cmd/gateway's TestChainBusyHourSQL
// proves both folds give the same table.
//
// The rules, as gateway/report's: a trunk call is direction in or out;
// hours are the wall clock of the call's start (start_local), hour h of the
// period [from + h hours, + 1 hour); a call counts in the hour it starts;
// its connected interval starts ring_s after its start (when positive) and
// lasts duration_s; its seconds are spread over the hours it touches,
// clipped at the period's end.

// HourlyTraffic is the trunk traffic of each clock hour of a period.
type HourlyTraffic struct {
	Calls []int64 // trunk calls started in the hour
	Secs  []int64 // connected seconds in the hour
}

// Traffic folds the trunk calls of the properties named (nil: every
// property) that started in [from, to) on their wall clock (only the
// times' wall-clock digits count; both on the hour) into hours.
//
// One GROUP BY over three keys per call (the hour it starts, the hours its
// connected interval begins and ends in), so that PostgreSQL aggregates in
// parallel; the whole hours a call of over two hours covers in between are
// added here as a difference array.
func (s *Store) Traffic(ctx context.Context, properties []string, from, to time.Time) (HourlyTraffic, error) {
	wf := time.Date(from.Year(), from.Month(), from.Day(), from.Hour(), 0, 0, 0, time.UTC)
	wt := time.Date(to.Year(), to.Month(), to.Day(), to.Hour(), 0, 0, 0, time.UTC)
	hours := int(wt.Sub(wf) / time.Hour)
	if hours <= 0 || hours > 367*24 {
		return HourlyTraffic{}, gateway.Errorf(gateway.KindInvalid, "a traffic period runs from 1 hour to 367 days")
	}
	end := int64(hours) * 3600
	rows, err := s.pool.Query(ctx, `
		SELECT hc, h0, hl, count(*), COALESCE(sum(first), 0), COALESCE(sum(last), 0), count(*) FILTER (WHERE hl > h0 + 1)
		FROM (
			SELECT sc / 3600 AS hc,
				CASE WHEN v THEN f / 3600 END AS h0,
				CASE WHEN v THEN (t - 1) / 3600 END AS hl,
				CASE WHEN v THEN least(t, (f / 3600 + 1) * 3600) - f END AS first,
				CASE WHEN v AND (t - 1) / 3600 > f / 3600 THEN t - ((t - 1) / 3600) * 3600 END AS last
			FROM (
				SELECT sc, f, least(f + d, $4) AS t, d > 0 AND f < $4 AS v
				FROM (
					SELECT sc, sc + CASE WHEN ring_s > 0 THEN ring_s ELSE 0 END AS f, COALESCE(duration_s, 0)::bigint AS d
					FROM (
						SELECT floor(date_part('epoch', start_local) - $5)::bigint AS sc, ring_s, duration_s
						FROM callgate.call_state
						WHERE direction IN ('in', 'out') AND start_local >= $2 AND start_local < $3
						  AND ($1::text[] IS NULL OR property = ANY($1))
					) a
				) b
			) c
		) d
		GROUP BY hc, h0, hl`,
		properties, wf, wt, end, float64(wf.Unix()))
	if err != nil {
		return HourlyTraffic{}, classify(err, "fold the trunk traffic")
	}
	defer rows.Close()
	ht := HourlyTraffic{Calls: make([]int64, hours), Secs: make([]int64, hours)}
	full := make([]int64, hours+1) // difference array of whole hours covered
	in := func(h int64) bool { return h >= 0 && h < int64(hours) }
	for rows.Next() {
		var hc int64
		var h0, hl *int64
		var n, first, last, long int64
		if err := rows.Scan(&hc, &h0, &hl, &n, &first, &last, &long); err != nil {
			return HourlyTraffic{}, classify(err, "fold the trunk traffic")
		}
		if in(hc) {
			ht.Calls[hc] += n
		}
		if h0 == nil || hl == nil || !in(*h0) || !in(*hl) {
			continue
		}
		ht.Secs[*h0] += first
		if *hl > *h0 {
			ht.Secs[*hl] += last
		}
		if long > 0 {
			full[*h0+1] += long
			full[*hl] -= long
		}
	}
	if err := rows.Err(); err != nil {
		return HourlyTraffic{}, classify(err, "fold the trunk traffic")
	}
	run := int64(0)
	for h := 0; h < hours; h++ {
		run += full[h]
		ht.Secs[h] += run * 3600
	}
	return ht, nil
}
