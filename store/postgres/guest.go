package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
)

// sealPage is how many guest events SealStoredGuestEvents reads and
// rewrites in one transaction.
const sealPage = 1000

// SealStoredGuestEvents seals the guest events a central already holds
// whole that carry a guest's personal data (shipped before guest events
// went sealed, docs/central.md, "Guest data"), for every property that
// holds no guest names (it does not ship them: central.ship_guest_names
// false): body NULL, sealed true, sealed_data the stay's keys
// (gateway.SealedGuestKeys), the hash kept, so that the chain checks on as
// for an event that came sealed. It works in transactions of sealPage
// events and may be run again (it finds nothing left) and while the
// central serves. It returns how many events it sealed; log, if set, is
// told each property's count.
func (s *Store) SealStoredGuestEvents(ctx context.Context, log func(property string, sealed int64)) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT property FROM callgate.property p
		WHERE NOT EXISTS (SELECT 1 FROM callgate.guest_name g WHERE g.property = p.property) ORDER BY property`)
	if err != nil {
		return 0, classify(err, "list the properties")
	}
	props, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, classify(err, "list the properties")
	}
	var total int64
	for _, p := range props {
		n, err := s.sealProperty(ctx, p)
		total += n
		if err != nil {
			return total, err
		}
		if log != nil {
			log(p, n)
		}
	}
	return total, nil
}

// sealProperty seals one property's stored guest events, page by page.
func (s *Store) sealProperty(ctx context.Context, property string) (int64, error) {
	var total int64
	epoch, seq := "", int64(0)
	for {
		var read, sealed int
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT epoch, seq, time_utc, entry, actor, reason, body::text FROM callgate.event
				WHERE property = $1 AND kind = 'guest' AND NOT sealed AND (epoch, seq) > ($2, $3)
				ORDER BY epoch, seq LIMIT $4`, property, epoch, seq, sealPage)
			if err != nil {
				return err
			}
			type seal struct {
				epoch string
				seq   int64
				at    time.Time
				data  string
			}
			var out []seal
			for rows.Next() {
				var r seal
				var entry int64
				var actor, reason, body string
				if err := rows.Scan(&r.epoch, &r.seq, &r.at, &entry, &actor, &reason, &body); err != nil {
					rows.Close()
					return err
				}
				read++
				epoch, seq = r.epoch, r.seq
				var ev struct {
					Data json.RawMessage `json:"data"`
				}
				if entry != 0 || actor != "" || reason != "" || json.Unmarshal([]byte(body), &ev) != nil || len(ev.Data) == 0 {
					continue // no guest event as the journal writes them: left as it is
				}
				data, personal, err := gateway.SealGuestData(ev.Data)
				if err != nil || !personal {
					continue
				}
				r.data = string(data)
				out = append(out, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			// One round trip for the transaction's updates.
			var batch pgx.Batch
			for _, r := range out {
				batch.Queue(`UPDATE callgate.event SET body = NULL, sealed = true, sealed_data = $5
					WHERE property = $1 AND epoch = $2 AND seq = $3 AND time_utc = $4 AND NOT sealed`,
					property, r.epoch, r.seq, r.at, r.data)
			}
			if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
				return err
			}
			sealed = len(out)
			return nil
		})
		if err != nil {
			return total, classify(err, fmt.Sprintf("seal property %s's stored guest events", property))
		}
		total += int64(sealed)
		if read < sealPage {
			return total, nil
		}
	}
}
