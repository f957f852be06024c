package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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
// Nearly every call's connected time ends within the hour after the one it
// starts in: those are summed per start hour by PostgreSQL (trafficSQL: an
// index-only scan in hour order, aggregated in parallel), each giving its
// seconds to its start hour and the next. The rest (longer calls, or a
// ring past the next hour) are read one by one through their own partial
// index and spread here (trafficLongSQL).
func (s *Store) Traffic(ctx context.Context, properties []string, from, to time.Time) (HourlyTraffic, error) {
	wf := time.Date(from.Year(), from.Month(), from.Day(), from.Hour(), 0, 0, 0, time.UTC)
	wt := time.Date(to.Year(), to.Month(), to.Day(), to.Hour(), 0, 0, 0, time.UTC)
	hours := int(wt.Sub(wf) / time.Hour)
	if hours <= 0 || hours > 367*24 {
		return HourlyTraffic{}, gateway.Errorf(gateway.KindInvalid, "a traffic period runs from 1 hour to 367 days")
	}
	ht := HourlyTraffic{Calls: make([]int64, hours), Secs: make([]int64, hours)}
	in := func(h int64) bool { return h >= 0 && h < int64(hours) }
	baseH := wf.Unix() / 3600
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, trafficSettings); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, trafficSQL, properties, baseH, baseH+int64(hours))
		if err != nil {
			return err
		}
		for rows.Next() {
			var h, n, here, next int64
			if err := rows.Scan(&h, &n, &here, &next); err != nil {
				rows.Close()
				return err
			}
			if in(h) {
				ht.Calls[h] += n
				ht.Secs[h] += here
			}
			if in(h + 1) {
				ht.Secs[h+1] += next
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, trafficLongSQL, properties, baseH, baseH+int64(hours))
		if err != nil {
			return err
		}
		defer rows.Close()
		end := int64(hours) * 3600
		for rows.Next() {
			var h, from, to int64
			if err := rows.Scan(&h, &from, &to); err != nil {
				return err
			}
			if in(h) {
				ht.Calls[h]++
			}
			// The seconds [from, to) of the period, hour by hour, clipped
			// at its end (gateway/report's spread).
			to = min(to, end)
			for from < to {
				hh := from / 3600
				next := min((hh+1)*3600, to)
				if in(hh) {
					ht.Secs[hh] += next - from
				}
				from = next
			}
		}
		return rows.Err()
	})
	if err != nil {
		return HourlyTraffic{}, classify(err, "fold the trunk traffic")
	}
	return ht, nil
}

// trafficSettings are Traffic's planner settings, for its transaction only:
// JIT compiling costs more than it saves on these aggregates.
const trafficSettings = "SET LOCAL jit = off"

// trafficSQL sums the calls whose connected time ends by the end of the
// hour after their start hour, per start hour (counted from the period's
// first, $2; $3 the hour after its last; $1 the properties, NULL: all):
// the calls, their connected seconds in the start hour and in the next.
const trafficSQL = `
	SELECT wall_h - $2, count(*),
		COALESCE(sum(least(conn_end_s, (wall_h + 1) * 3600) - least(conn_s, (wall_h + 1) * 3600)), 0),
		COALESCE(sum(greatest(conn_end_s, (wall_h + 1) * 3600) - greatest(conn_s, (wall_h + 1) * 3600)), 0)
	FROM callgate.call_state
	WHERE direction IN ('in', 'out') AND superseded_by IS NULL AND wall_h >= $2 AND wall_h < $3 AND conn_end_s <= (wall_h + 2) * 3600
	  AND ($1::text[] IS NULL OR property = ANY($1))
	GROUP BY wall_h`

// trafficLongSQL reads the other calls: the start hour and the connected
// interval, in seconds from the period's start.
const trafficLongSQL = `
	SELECT wall_h - $2, conn_s - $2 * 3600, conn_end_s - $2 * 3600
	FROM callgate.call_state
	WHERE direction IN ('in', 'out') AND superseded_by IS NULL AND wall_h >= $2 AND wall_h < $3 AND conn_end_s > (wall_h + 2) * 3600
	  AND ($1::text[] IS NULL OR property = ANY($1))`

// KeySum is one key's sums in one currency (Sums).
type KeySum struct {
	Key, Currency string
	Calls, Secs   int64
	CarrierMinor  int64
	ChargeMinor   int64
}

// sumKeys are the keys Sums groups by: the column of call_state each names.
var sumKeys = map[string]string{"room": "room", "extension": "extension", "account_code": "account_code", "class": "class", "destination": "destination"}

// Sums returns, per key (room, extension, account_code, class or
// destination; NULL as "") and currency, the rated calls (a charge,
// whatever the state) of the properties named (nil: every property) that
// started in [from, to) on their wall clock: their number, connected
// seconds, carrier cost and guest charge, as gateway/report's by-key
// reports sum them (docs/chain-console.md).
func (s *Store) Sums(ctx context.Context, properties []string, key string, from, to time.Time) ([]KeySum, error) {
	col, ok := sumKeys[key]
	if !ok {
		return nil, gateway.Errorf(gateway.KindInvalid, "%q is not a key the central sums by", key)
	}
	wf := time.Date(from.Year(), from.Month(), from.Day(), from.Hour(), from.Minute(), from.Second(), 0, time.UTC)
	wt := time.Date(to.Year(), to.Month(), to.Day(), to.Hour(), to.Minute(), to.Second(), 0, time.UTC)
	rows, err := s.pool.Query(ctx, `SELECT COALESCE(`+col+`, ''), COALESCE(currency, ''), count(*), COALESCE(sum(duration_s), 0),
			COALESCE(sum(carrier_minor), 0), COALESCE(sum(total_minor), 0)
		FROM callgate.call_state
		WHERE chargeable IS NOT NULL AND superseded_by IS NULL AND start_local >= $2 AND start_local < $3 AND ($1::text[] IS NULL OR property = ANY($1))
		GROUP BY 1, 2`, properties, wf, wt)
	if err != nil {
		return nil, classify(err, "sum the calls by "+key)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeySum, error) {
		var k KeySum
		err := r.Scan(&k.Key, &k.Currency, &k.Calls, &k.Secs, &k.CarrierMinor, &k.ChargeMinor)
		return k, err
	})
	if err != nil {
		return nil, classify(err, "sum the calls by "+key)
	}
	return out, nil
}
