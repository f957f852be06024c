package store

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// The ship cursor: the central's acknowledged cursor, per epoch, in a
// bucket of its own created at the first acknowledgement (journals from
// before central have none, and need no migration). Not a projection: a
// rebuild keeps it. See docs/central.md, "The property's side".

var bShip = []byte("ship")

// shipValue is cursor (8 bytes, big-endian) and the central's time in
// microseconds (8).
const shipValue = 16

// ShipCursor returns the acknowledged cursor of the journal's epoch; see
// gateway.Journal.
func (j *Journal) ShipCursor(ctx context.Context) (gateway.ShipAck, error) {
	out := gateway.ShipAck{Epoch: j.epoch}
	err := j.view(ctx, "read the central's cursor", func(tx *bolt.Tx) error {
		out.Cursor, out.At = shipCursor(tx, j.epoch)
		return nil
	})
	return out, err
}

// shipCursor reads the cursor of epoch in tx; 0 when none.
func shipCursor(tx *bolt.Tx, epoch string) (uint64, time.Time) {
	b := tx.Bucket(bShip)
	if b == nil {
		return 0, time.Time{}
	}
	v := b.Get([]byte(epoch))
	if len(v) != shipValue {
		return 0, time.Time{}
	}
	at := int64(binary.BigEndian.Uint64(v[8:]))
	if at == 0 {
		return u64(v), time.Time{}
	}
	return u64(v), fromMicros(at)
}

// SetShipCursor persists the central's acknowledgement in one small
// transaction of its own; see gateway.Journal.
func (j *Journal) SetShipCursor(ctx context.Context, a gateway.ShipAck) error {
	if a.Epoch != j.epoch {
		return gateway.Errorf(gateway.KindInvalid, "the central's cursor is for epoch %q and this journal is epoch %s: it cannot be kept", a.Epoch, j.epoch)
	}
	return j.update(ctx, "keep the central's cursor", func(tx *bolt.Tx) error {
		if last := tx.Bucket(bEvents).Sequence(); a.Cursor > last {
			return gateway.Errorf(gateway.KindInvalid, "the central acknowledged event %d of epoch %s, and this journal's last event is %d: two gateways ship as one property, or the journal was restored from an older copy", a.Cursor, a.Epoch, last)
		}
		b, err := tx.CreateBucketIfNotExists(bShip)
		if err != nil {
			return err
		}
		v := make([]byte, shipValue)
		binary.BigEndian.PutUint64(v, a.Cursor)
		if !a.At.IsZero() {
			binary.BigEndian.PutUint64(v[8:], uint64(micros(a.At)))
		}
		return b.Put([]byte(j.epoch), v)
	})
}

// pruneLimit is the last event Prune may remove: with a central
// configured, the one before the ship cursor — the event at the cursor is
// kept, as the next batch chains from its hash — else every event.
// It returns the cursor too.
func (j *Journal) pruneLimit(tx *bolt.Tx) (upTo, cursor uint64) {
	if !j.opt.CentralGuard {
		return math.MaxUint64, 0
	}
	c, _ := shipCursor(tx, j.epoch)
	if c == 0 {
		return 0, 0
	}
	return c - 1, c
}

// lastEventOf returns the sequence number of entry id's last event.
func lastEventOf(tx *bolt.Tx, id uint64) uint64 {
	c := tx.Bucket(bEntryEvents).Cursor()
	k, _ := c.Seek(be64(id + 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if len(k) != 16 || u64(k) != id {
		return 0
	}
	return u64(k[8:])
}

// PrunedBefore names the run of events retention removed that ends just
// before event seq: its first event, and the hash of its last (event
// seq-1), which the pruned bucket records. ok is false when event seq-1
// was not pruned. The shipper of an epoch that follows another sends the
// events after such a run chained from that hash (docs/central.md,
// "Epochs").
func (j *Journal) PrunedBefore(ctx context.Context, seq uint64) (first uint64, hash [32]byte, ok bool, err error) {
	if seq < 2 {
		return 0, hash, false, nil
	}
	err = j.view(ctx, "read its pruned events", func(tx *bolt.Tx) error {
		b := tx.Bucket(bPruned)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek(be64(seq))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		if len(k) != 8 || len(v) != 40 || u64(v) != seq-1 {
			return nil
		}
		first, ok = u64(k), true
		copy(hash[:], v[8:])
		return nil
	})
	return first, hash, ok, err
}
