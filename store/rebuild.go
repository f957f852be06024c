package store

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

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
