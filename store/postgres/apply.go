package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
)

// ErrChain is wrapped by Apply's refusal of a batch that does not continue
// the hash chain the central holds for its epoch: another journal claims
// the property's epoch, or the journal was altered (HTTP 422). It is
// gateway.ErrShipChain, as gateway/ship's decoding wraps.
var ErrChain = gateway.ErrShipChain

// maxMonths is the most months one batch's events may span: each makes
// partitions, and a journal's events come in time order.
const maxMonths = 36

// The span of event times Apply takes.
var earliestEvent = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const maxAhead = 48 * time.Hour

// Apply applies one property's batch in one transaction (docs/central.md,
// "Apply"): it locks the (property, epoch) cursor, refuses a gap with a
// *gateway.ShipGapError, skips the events it holds after checking they are
// the same, checks the new ones continue the chain, inserts them, updates
// the projections and the site, and advances the cursor.
func (s *Store) Apply(ctx context.Context, property string, b gateway.ShipBatch) (gateway.ShipAck, error) {
	if err := checkShape(b); err != nil {
		return gateway.ShipAck{}, err
	}
	var months []time.Time
	latest := time.Now().Add(maxAhead)
	for i := range b.Events {
		// An event's time makes a month's partition: a time no journal
		// writes (a clock years off, a crafted batch) is refused before it
		// can add partitions for every century.
		if t := b.Events[i].Time; t.Before(earliestEvent) || t.After(latest) {
			return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "event %d's time %s is before 2000 or more than two days ahead of the central's clock: check the property's clock (the journal stamps events with it)", b.Events[i].Seq, t.UTC().Format(time.RFC3339))
		}
		m := monthOf(b.Events[i].Time)
		if !containsTime(months, m) {
			months = append(months, m)
			if len(months) > maxMonths {
				return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "the batch's events span more than %d months: set central.batch_max lower at the property", maxMonths)
			}
		}
	}
	if err := s.ensureMonths(ctx, months); err != nil {
		return gateway.ShipAck{}, err
	}
	var ack gateway.ShipAck
	var added int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		ack, added, err = s.apply(ctx, tx, property, b)
		return err
	})
	if err != nil {
		var gap *gateway.ShipGapError
		if errors.As(err, &gap) {
			return gateway.ShipAck{}, err
		}
		return gateway.ShipAck{}, classify(err, fmt.Sprintf("store property %s's batch", property))
	}
	s.log.Debug().Str("property", property).Str("epoch", b.Epoch).Uint64("cursor", ack.Cursor).Int("added", added).Msg("applied a batch")
	return ack, nil
}

// checkShape checks what DecodeBatch checks of a batch's form, for callers
// that did not decode it: events, consecutive, each with a body.
func checkShape(b gateway.ShipBatch) error {
	if b.Epoch == "" {
		return gateway.Errorf(gateway.KindInvalid, "the batch names no epoch")
	}
	if len(b.Events) == 0 {
		return gateway.Errorf(gateway.KindInvalid, "the batch has no events")
	}
	for i := range b.Events {
		e := &b.Events[i]
		if e.Sealed {
			// A sealed guest event: no body, its stay's data only
			// (docs/central.md, "Guest data").
			if e.Seq == 0 || e.Kind != gateway.EventGuest || len(e.Body) != 0 {
				return gateway.Errorf(gateway.KindInvalid, "the batch's event %d is sealed and is no guest event without a body: only guest events are sealed", i+1)
			}
			// Nothing a hash covers stands behind a sealed envelope: it
			// may carry nothing a guest event has not (no entry, actor,
			// reason or state change).
			if e.Entry != 0 || e.Actor != "" || e.Reason != "" || e.From != "" || e.To != "" {
				return gateway.Errorf(gateway.KindInvalid, "the batch's sealed event %d names an entry, an actor, a reason or a state change: a guest event has none", e.Seq)
			}
			if !b.HasSealable || e.Seq > b.SealableUpto {
				return gateway.Errorf(gateway.KindInvalid, "the batch's event %d is sealed, and the batch says the journal wrote events up to %d before journal schema 4: only those are sealed", e.Seq, b.SealableUpto)
			}
			if _, personal, err := gateway.SealGuestData(e.Data); err != nil || personal {
				return gateway.Errorf(gateway.KindInvalid, "the batch's sealed event %d carries more than the stay: a sealed event keeps none of the guest's data", e.Seq)
			}
		} else if e.Seq == 0 || len(e.Body) == 0 {
			return gateway.Errorf(gateway.KindInvalid, "the batch's event %d has no sequence number or no stored body", i+1)
		}
		if i > 0 && e.Seq != b.Events[i-1].Seq+1 {
			return gateway.Errorf(gateway.KindInvalid, "the batch's events are not consecutive: %d follows %d", e.Seq, b.Events[i-1].Seq)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, tx pgx.Tx, property string, b gateway.ShipBatch) (gateway.ShipAck, int, error) {
	now := time.Now().UTC()
	var disabled bool
	if err := tx.QueryRow(ctx, "SELECT disabled FROM callgate.property WHERE property = $1", property).Scan(&disabled); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return gateway.ShipAck{}, 0, gateway.Errorf(gateway.KindNotFound, "there is no property %q at the central: add it with `gateway central property add`", property)
		}
		return gateway.ShipAck{}, 0, err
	}
	if disabled {
		return gateway.ShipAck{}, 0, gateway.Errorf(gateway.KindRejected, "property %q is disabled at the central", property)
	}
	if err := lockProperty(ctx, tx, property); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO callgate.cursor (property, epoch, seq, hash) VALUES ($1, $2, 0, $3)
		ON CONFLICT (property, epoch) DO NOTHING`, property, b.Epoch, make([]byte, 32)); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	var cur uint64
	var curHash []byte
	var curAt time.Time
	var sealable *int64
	if err := tx.QueryRow(ctx, "SELECT seq, hash, updated_utc, sealable_upto FROM callgate.cursor WHERE property = $1 AND epoch = $2 FOR UPDATE",
		property, b.Epoch).Scan(&cur, &curHash, &curAt, &sealable); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	if sealable == nil && b.HasSealable {
		// The first batch that says up to where the journal wrote before
		// schema 4 fixes it for the epoch: a later batch cannot raise it
		// (docs/central.md, "Guest data").
		v := int64(b.SealableUpto)
		if _, err := tx.Exec(ctx, "UPDATE callgate.cursor SET sealable_upto = $3 WHERE property = $1 AND epoch = $2", property, b.Epoch, v); err != nil {
			return gateway.ShipAck{}, 0, err
		}
		sealable = &v
	}
	chainEpoch, err := registerEpoch(ctx, tx, property, b)
	if err != nil {
		return gateway.ShipAck{}, 0, err
	}
	first, last := b.Events[0].Seq, b.Events[len(b.Events)-1].Seq
	skip := false // the batch goes on after events pruned at the property
	if first > cur+1 {
		// An epoch that follows another may go on after events
		// retention removed from its file (the batch says from which
		// one): the central holds them in the lineage (docs/central.md,
		// "Epochs"). Else the central asks for the events from its
		// cursor; a shipper that cannot send them says which it lacks.
		held, in := false, []string(nil)
		if b.PrunedFrom != 0 && b.PrunedFrom <= cur+1 {
			var err error
			if held, in, err = afterPruned(ctx, tx, property, b.Epoch, first-1, b.PrevHash); err != nil {
				return gateway.ShipAck{}, 0, err
			}
		}
		if !held {
			if len(in) > 0 {
				s.log.Warn().Str("property", property).Str("epoch", b.Epoch).Uint64("cursor", cur).Uint64("first", first).Strs("lineage", in).
					Msg("a batch goes on after events the central holds in none of the epochs this one follows: asking for the events after the cursor")
			}
			return gateway.ShipAck{}, 0, &gateway.ShipGapError{Epoch: b.Epoch, Cursor: cur, First: first}
		}
		skip = true
	}
	if first <= cur {
		if err := checkOverlap(ctx, tx, property, b, min(last, cur)); err != nil {
			return gateway.ShipAck{}, 0, err
		}
	}
	news := b.Events
	if !skip {
		news = b.Events[min(cur+1-first, uint64(len(b.Events))):]
	}
	if len(news) == 0 {
		if err := putSite(ctx, tx, property, b, now); err != nil {
			return gateway.ShipAck{}, 0, err
		}
		return gateway.ShipAck{Epoch: b.Epoch, Cursor: cur, At: curAt.UTC()}, 0, nil
	}
	for i := range news {
		e := &news[i]
		switch {
		case !e.Sealed:
		case sealable == nil:
			return gateway.ShipAck{}, 0, gateway.Errorf(gateway.KindInvalid,
				"event %d of property %s's epoch %s is sealed, and no batch of that epoch said which events its journal wrote before journal schema 4 (only those are sealed): upgrade callgate at the property", e.Seq, property, b.Epoch)
		case e.Seq > uint64(*sealable):
			return gateway.ShipAck{}, 0, gateway.Errorf(gateway.KindInvalid,
				"event %d of property %s's epoch %s is sealed, and that epoch's journal wrote only events up to %d before journal schema 4, as its first batch said (only those are sealed): run `gateway journal verify` at the property",
				e.Seq, property, b.Epoch, *sealable)
		}
	}
	prev := [32]byte(curHash)
	if news[0].Sealed && news[0].Seq == first && cur > 0 && !skip && b.PrevHash != prev {
		// The central cannot check a sealed event's hash: the batch's
		// previous hash must be the one it holds for the cursor's event,
		// as an unsealed event's body would have to chain from it.
		return gateway.ShipAck{}, 0, gateway.Wrap(gateway.KindRejected, ErrChain, fmt.Sprintf(
			"event %d of property %s's epoch %s does not continue the chain the central holds up to event %d: two journals claim property %s, or the journal was altered; run `gateway journal verify` at the property",
			news[0].Seq, property, b.Epoch, cur, property))
	}
	switch {
	case skip:
		prev = b.PrevHash
	case cur == 0:
		// Event 1 chains from the genesis of the chain's epoch: the epoch's
		// own, or the first epoch of a replaced journal file's
		// (docs/central.md, "Epochs").
		prev = gateway.JournalGenesis(chainEpoch)
	}
	for i := range news {
		e := &news[i]
		// A sealed event's body is not shipped: its hash is taken for
		// that one link, and the next event is checked from it.
		if h := chainHash(prev, e.Body); !e.Sealed && h != e.Hash {
			if i == 0 {
				return gateway.ShipAck{}, 0, gateway.Wrap(gateway.KindRejected, ErrChain, fmt.Sprintf(
					"event %d of property %s's epoch %s does not continue the chain the central holds up to event %d: two journals claim property %s, or the journal was altered; run `gateway journal verify` at the property",
					e.Seq, property, b.Epoch, cur, property))
			}
			return gateway.ShipAck{}, 0, gateway.Wrap(gateway.KindRejected, ErrChain, fmt.Sprintf(
				"event %d of property %s's epoch %s does not chain from the one before it: the journal was altered or the batch damaged; run `gateway journal verify` at the property", e.Seq, property, b.Epoch))
		}
		prev = e.Hash
	}
	if err := insertEvents(ctx, tx, property, b.Epoch, news); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	if err := project(ctx, tx, property, b.Epoch, news); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	if err := supersede(ctx, tx, property, b.Epoch, createdEntries(news)); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	if err := putSite(ctx, tx, property, b, now); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	if err := putGuests(ctx, tx, property, b.GuestNames, now); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	end := news[len(news)-1]
	if _, err := tx.Exec(ctx, "UPDATE callgate.cursor SET seq = $3, hash = $4, updated_utc = $5 WHERE property = $1 AND epoch = $2",
		property, b.Epoch, end.Seq, end.Hash[:], now); err != nil {
		return gateway.ShipAck{}, 0, err
	}
	return gateway.ShipAck{Epoch: b.Epoch, Cursor: end.Seq, At: now}, len(news), nil
}

// checkOverlap compares the batch's events up to upto, which the central
// holds, with the stored ones: the same sequence number with another hash
// means another journal claims the epoch.
func checkOverlap(ctx context.Context, tx pgx.Tx, property string, b gateway.ShipBatch, upto uint64) error {
	first := b.Events[0].Seq
	rows, err := tx.Query(ctx, "SELECT seq, hash FROM callgate.event WHERE property = $1 AND epoch = $2 AND seq BETWEEN $3 AND $4",
		property, b.Epoch, first, upto)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var seq uint64
		var h []byte
		if err := rows.Scan(&seq, &h); err != nil {
			return err
		}
		if seq < first || seq > upto {
			continue
		}
		seen++
		e := b.Events[seq-first]
		if !bytes.Equal(h, e.Hash[:]) {
			return gateway.Wrap(gateway.KindRejected, ErrChain, fmt.Sprintf(
				"two journals claim property %s: its event %d of epoch %s differs from the one the central holds; find which gateway has that journal, or run `gateway journal verify` at the property",
				property, seq, b.Epoch))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if want := int(upto - first + 1); seen != want {
		return gateway.Errorf(gateway.KindInternal, "the central holds %d of property %s's events %d to %d of epoch %s, and its cursor says all %d", seen, property, first, upto, b.Epoch, want)
	}
	return nil
}

func chainHash(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// insertEvents copies the new events into callgate.event, PostgreSQL
// routing each to its month's partition. No staging table and no ON
// CONFLICT: under the cursor row's lock no event above the cursor can be
// held (the cursor moves in the transaction that stores them), so a
// conflict would mean the cursor and the events disagree, which must fail
// the batch loudly rather than be skipped; and one COPY costs half of a
// staged insert (docs/central.md, "Apply").
func insertEvents(ctx context.Context, tx pgx.Tx, property, epoch string, evs []gateway.Event) error {
	rows := make([][]any, len(evs))
	for i := range evs {
		e := &evs[i]
		var body, sealed any = string(e.Body), nil
		if e.Sealed {
			body, sealed = nil, string(e.Data)
		}
		rows[i] = []any{property, epoch, int64(e.Seq), int64(e.Entry), string(e.Kind), e.Time.UTC(), e.Local,
			e.Actor, e.Reason, string(e.From), string(e.To), e.Hash[:], body, e.Sealed, sealed}
	}
	cols := []string{"property", "epoch", "seq", "entry", "kind", "time_utc", "time_local", "actor", "reason", "from_state", "to_state", "hash", "body", "sealed", "sealed_data"}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"callgate", "event"}, cols, pgx.CopyFromRows(rows))
	return err
}

// putSite keeps the property's latest snapshot. An epoch another epoch
// follows (the old file of a restored journal, shipping late) describes a
// journal that is no longer the property's: its snapshots are not kept
// over the newer epoch's (docs/central.md, "Epochs").
func putSite(ctx context.Context, tx pgx.Tx, property string, b gateway.ShipBatch, now time.Time) error {
	si := b.Site
	var at *time.Time
	if !si.At.IsZero() {
		t := si.At.UTC()
		at = &t
	}
	_, err := tx.Exec(ctx, `INSERT INTO callgate.site (property, epoch, name, timezone, at_utc, link, queued, in_doubt, version, received_utc, head)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (property) DO UPDATE SET epoch = EXCLUDED.epoch, name = EXCLUDED.name, timezone = EXCLUDED.timezone,
			at_utc = EXCLUDED.at_utc, link = EXCLUDED.link, queued = EXCLUDED.queued, in_doubt = EXCLUDED.in_doubt,
			version = EXCLUDED.version, received_utc = EXCLUDED.received_utc, head = EXCLUDED.head
		WHERE (site.at_utc IS NULL OR EXCLUDED.at_utc IS NULL OR EXCLUDED.at_utc >= site.at_utc)
		  AND NOT EXISTS (SELECT 1 FROM callgate.epoch f WHERE f.property = $1 AND f.follows = $2)`,
		property, b.Epoch, si.Name, si.Timezone, at, string(si.Link), si.Queued, si.InDoubt, si.Version, now, int64(si.Head))
	return err
}

func putGuests(ctx context.Context, tx pgx.Tx, property string, gs []gateway.ShipGuestName, now time.Time) error {
	if len(gs) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, g := range gs {
		batch.Queue(`INSERT INTO callgate.guest_name (property, room, reservation, last_name, first_name, title, updated_utc,
				language, vip, guest_group, no_post, class_of_service)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (property, room, reservation) DO UPDATE SET last_name = EXCLUDED.last_name, first_name = EXCLUDED.first_name,
				title = EXCLUDED.title, updated_utc = EXCLUDED.updated_utc, language = EXCLUDED.language, vip = EXCLUDED.vip,
				guest_group = EXCLUDED.guest_group, no_post = EXCLUDED.no_post, class_of_service = EXCLUDED.class_of_service`,
			property, g.Room, g.Reservation, g.LastName, g.FirstName, g.Title, now,
			g.Language, g.VIP, g.Group, g.NoPost, g.ClassOfService)
	}
	return tx.SendBatch(ctx, batch).Close()
}

// Cursor is the central's cursor for a property's epoch (0: nothing held).
func (s *Store) Cursor(ctx context.Context, property, epoch string) (gateway.ShipAck, error) {
	var seq uint64
	var at time.Time
	err := s.pool.QueryRow(ctx, "SELECT seq, updated_utc FROM callgate.cursor WHERE property = $1 AND epoch = $2", property, epoch).Scan(&seq, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return gateway.ShipAck{Epoch: epoch}, nil
	}
	if err != nil {
		return gateway.ShipAck{}, classify(err, "read a cursor")
	}
	return gateway.ShipAck{Epoch: epoch, Cursor: seq, At: at.UTC()}, nil
}

var _ gateway.CentralApplier = (*Store)(nil)
