package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
)

// Epochs (docs/central.md, "Epochs"). A property whose journal file was
// replaced by a backup ships a new epoch from event 1, chained from its
// first epoch's genesis, naming the epoch it follows and the backup's last
// entry: the new epoch's entries up to it are the same calls as the
// followed epoch's. Both epochs are kept (their events, postings, actions);
// in call_state the older epoch's row of a call both hold is marked
// superseded_by the newer epoch (the one that follows the other; of two
// that follow one epoch, the one the central saw last), which callgate.calls and the chain's
// queries leave out. A call the old epoch took after the backup (lost with
// the restore at the property) stays: it is a real call.

// epochRow is one row of callgate.epoch.
type epochRow struct {
	follows string
	upto    uint64
	n       int64 // order of first sight
}

// registerEpoch makes the batch's epoch row at its first batch and
// returns the epoch its chain starts from: the stored row's, so that a
// later batch cannot change it.
func registerEpoch(ctx context.Context, tx pgx.Tx, property string, b gateway.ShipBatch) (string, error) {
	chain := b.ChainEpoch
	if chain == "" {
		chain = b.Epoch
	}
	// Known already: its row holds the chain epoch (and its ancestors are
	// registered); nothing to write on every batch.
	var known string
	switch err := tx.QueryRow(ctx, "SELECT chain_epoch FROM callgate.epoch WHERE property = $1 AND epoch = $2", property, b.Epoch).Scan(&known); {
	case err == nil:
		return known, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return "", err
	}
	// A new epoch that follows one the central holds goes on with that
	// epoch's chain: its first batch cannot name another (event 1 may be
	// sealed, so its genesis is not always checked).
	if b.Follows != "" {
		var theirs string
		switch err := tx.QueryRow(ctx, "SELECT chain_epoch FROM callgate.epoch WHERE property = $1 AND epoch = $2", property, b.Follows).Scan(&theirs); {
		case err == nil && theirs != chain:
			return "", gateway.Wrap(gateway.KindRejected, ErrChain, fmt.Sprintf(
				"property %s's epoch %s follows epoch %s, whose chain starts from epoch %s, but names chain epoch %s: the journal's meta was altered; run `gateway journal verify` at the property",
				property, b.Epoch, b.Follows, theirs, chain))
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return "", err
		}
	}
	// The epochs the batch's descends from, the oldest first, each
	// following the one before it: an ancestor the central lacks (an
	// intermediate epoch that never shipped) gets its row, so that the
	// lineage walks through it; one it holds keeps its row.
	type link struct {
		epoch, follows string
		upto           uint64
	}
	var links []link
	for i, a := range b.Ancestry {
		l := link{epoch: a.Epoch}
		if i > 0 {
			l.follows, l.upto = b.Ancestry[i-1].Epoch, b.Ancestry[i-1].Entry
		}
		links = append(links, l)
	}
	links = append(links, link{epoch: b.Epoch, follows: b.Follows, upto: b.FollowsEntry})
	for _, l := range links {
		var follows *string
		if l.follows != "" {
			follows = &l.follows
		}
		if _, err := tx.Exec(ctx, `INSERT INTO callgate.epoch (property, epoch, chain_epoch, follows, follows_upto_entry)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (property, epoch) DO NOTHING`,
			property, l.epoch, chain, follows, int64(l.upto)); err != nil {
			return "", err
		}
	}
	err := tx.QueryRow(ctx, "SELECT chain_epoch FROM callgate.epoch WHERE property = $1 AND epoch = $2", property, b.Epoch).Scan(&chain)
	return chain, err
}

// ancestors names the epochs epoch descends from (its lineage but
// itself), sorted.
func ancestors(eps map[string]epochRow, epoch string) []string {
	var in []string
	for e := range lineage(eps, epoch) {
		if e != epoch {
			in = append(in, e)
		}
	}
	slices.Sort(in)
	return in
}

func loadEpochs(ctx context.Context, tx pgx.Tx, property string) (map[string]epochRow, error) {
	rows, err := tx.Query(ctx, "SELECT epoch, COALESCE(follows, ''), follows_upto_entry, n FROM callgate.epoch WHERE property = $1", property)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]epochRow{}
	for rows.Next() {
		var e string
		var r epochRow
		var upto int64
		if err := rows.Scan(&e, &r.follows, &upto, &r.n); err != nil {
			return nil, err
		}
		r.upto = uint64(max(upto, 0))
		out[e] = r
	}
	return out, rows.Err()
}

// lineage maps epoch and each epoch it descends from to the last entry
// the two share (epoch itself: all of them).
func lineage(eps map[string]epochRow, epoch string) map[string]uint64 {
	out := map[string]uint64{epoch: math.MaxUint64}
	limit := uint64(math.MaxUint64)
	for cur := epoch; ; {
		r, ok := eps[cur]
		if !ok || r.follows == "" {
			return out
		}
		limit = min(limit, r.upto)
		if _, seen := out[r.follows]; seen {
			return out // a loop no property writes; stop
		}
		out[r.follows] = limit
		cur = r.follows
	}
}

// sharedEntries is the last entry epochs a and b share (the same calls
// under the same entry numbers): 0 when they share none.
func sharedEntries(eps map[string]epochRow, a, b string) uint64 {
	la, lb := lineage(eps, a), lineage(eps, b)
	var best uint64
	for e, x := range la {
		if y, ok := lb[e]; ok {
			best = max(best, min(x, y))
		}
	}
	return best
}

// supersede marks, among the entries the batch created in epoch, the rows
// of a call another epoch holds too: the older epoch's row is superseded
// by the newer epoch.
func supersede(ctx context.Context, tx pgx.Tx, property, epoch string, created []uint64) error {
	if len(created) == 0 {
		return nil
	}
	eps, err := loadEpochs(ctx, tx, property)
	if err != nil {
		return err
	}
	me, ok := eps[epoch]
	if !ok || len(eps) < 2 {
		return nil
	}
	for other, r := range eps {
		if other == epoch {
			continue
		}
		shared := sharedEntries(eps, epoch, other)
		var ids []int64
		for _, id := range created {
			if id <= shared {
				ids = append(ids, int64(id))
			}
		}
		if len(ids) == 0 {
			continue
		}
		if newer(eps, epoch, other, me, r) { // this epoch holds these calls now
			_, err = tx.Exec(ctx, `UPDATE callgate.call_state SET superseded_by = $3
				WHERE property = $1 AND epoch = $2 AND entry = ANY($4) AND superseded_by IS NULL`, property, other, epoch, ids)
		} else { // the other is newer: where it holds the call, this row is the old one
			_, err = tx.Exec(ctx, `UPDATE callgate.call_state c SET superseded_by = $2
				WHERE c.property = $1 AND c.epoch = $3 AND c.entry = ANY($4) AND c.superseded_by IS NULL
				  AND EXISTS (SELECT 1 FROM callgate.call_state n WHERE n.property = $1 AND n.epoch = $2 AND n.entry = c.entry)`,
				property, other, epoch, ids)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// newer reports whether epoch a (row ra) is the newer of a and b: the one
// that follows the other, else (two restores of one backup, each
// following the same epoch) the one the central saw last.
func newer(eps map[string]epochRow, a, b string, ra, rb epochRow) bool {
	if _, ok := lineage(eps, a)[b]; ok {
		return true
	}
	if _, ok := lineage(eps, b)[a]; ok {
		return false
	}
	return ra.n > rb.n
}

// lockProperty takes the property's apply lock for the rest of the
// transaction: batches of one property apply one after the other, so that
// a batch's supersede sees what a batch of another epoch of the property
// committed (under READ COMMITTED two concurrent batches would each miss
// the other's rows and both leave their calls unmarked). Batches of one
// epoch are serialised by the cursor row already, and a property ships
// one epoch at a time but while an old file catches up: the lock costs
// nothing else.
func lockProperty(ctx context.Context, tx pgx.Tx, property string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", lockApply, property)
	return err
}

// afterPruned reports whether an epoch that follows another may go on
// after events it no longer holds (retention removed them at the
// property): the central must hold event seq, with the hash the batch
// names, in an epoch of the lineage. It returns the epochs looked in, for
// the sentence.
func afterPruned(ctx context.Context, tx pgx.Tx, property, epoch string, seq uint64, hash [32]byte) (bool, []string, error) {
	eps, err := loadEpochs(ctx, tx, property)
	if err != nil {
		return false, nil, err
	}
	if r, ok := eps[epoch]; !ok || r.follows == "" {
		return false, nil, nil
	}
	in := ancestors(eps, epoch)
	var held bool
	err = tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM callgate.event WHERE property = $1 AND epoch = ANY($2) AND seq = $3 AND hash = $4)",
		property, in, int64(seq), hash[:]).Scan(&held)
	return held, in, err
}

// gapHashes maps each event of the epoch that does not follow the one
// before it (the first held event above 1, or one after a hole) to the
// hashes the epochs it descends from hold for the event before it.
func gapHashes(ctx context.Context, tx pgx.Tx, property, epoch string) (map[uint64][][32]byte, error) {
	rows, err := tx.Query(ctx, `SELECT seq FROM (SELECT seq, lag(seq) OVER (ORDER BY seq) AS before
		FROM callgate.event WHERE property = $1 AND epoch = $2) x
		WHERE seq > 1 AND before IS DISTINCT FROM seq - 1`, property, epoch)
	if err != nil {
		return nil, err
	}
	starts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(starts) == 0 {
		return nil, err
	}
	eps, err := loadEpochs(ctx, tx, property)
	if err != nil {
		return nil, err
	}
	in := ancestors(eps, epoch)
	out := map[uint64][][32]byte{}
	for _, seq := range starts {
		rows, err := tx.Query(ctx, "SELECT DISTINCT hash FROM callgate.event WHERE property = $1 AND epoch = ANY($2) AND seq = $3", property, in, seq-1)
		if err != nil {
			return nil, err
		}
		hs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if len(h) == 32 {
				out[uint64(seq)] = append(out[uint64(seq)], [32]byte(h))
			}
		}
	}
	return out, nil
}

// createdEntries are the entries the events create (captured, imported).
func createdEntries(evs []gateway.Event) []uint64 {
	var out []uint64
	for i := range evs {
		if e := &evs[i]; e.Entry != 0 && (e.Kind == gateway.EventCaptured || e.Kind == gateway.EventImported) {
			out = append(out, uint64(e.Entry))
		}
	}
	return out
}

// VerifyChain checks the hash chain the central holds for a property's
// epoch: every event it holds, each hash SHA-256 of the previous hash and
// the stored body, event 1 from the genesis of the epoch's chain epoch, and
// after a run retention removed (an epoch that follows another) from the
// hash an epoch of its lineage holds for the event before the run
// (docs/central.md, "Epochs"); a sealed event (no body)
// is taken at its stored hash, as Apply takes it, and the next event is
// checked from it (docs/central.md, "Guest data"). It returns the events
// checked; a break is an error naming the event.
func (s *Store) VerifyChain(ctx context.Context, property, epoch string) (uint64, error) {
	var n uint64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		chain := epoch
		err := tx.QueryRow(ctx, "SELECT chain_epoch FROM callgate.epoch WHERE property = $1 AND epoch = $2", property, epoch).Scan(&chain)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		prev := gateway.JournalGenesis(chain)
		// The hashes that may precede a gap (a run retention removed at
		// the property, which Apply let an epoch that follows another skip
		// when an epoch it descends from holds the event before it:
		// docs/central.md, "Epochs") are read first: one query at a time
		// on a transaction's connection.
		gaps, err := gapHashes(ctx, tx, property, epoch)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT seq, hash, sealed, body::text FROM callgate.event WHERE property = $1 AND epoch = $2 ORDER BY seq", property, epoch)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last uint64
		for rows.Next() {
			var seq int64
			var h []byte
			var sealed bool
			var body *string
			if err := rows.Scan(&seq, &h, &sealed, &body); err != nil {
				return err
			}
			if uint64(seq) != last+1 {
				// Go on from the hash of the event before the gap that an
				// epoch it descends from holds, the one this event's body
				// chains from (a sealed event: the one there is).
				cands := gaps[uint64(seq)]
				found := false
				for _, c := range cands {
					if len(h) == 32 && (body == nil || chainHash(c, []byte(*body)) == [32]byte(h)) {
						prev, found = c, true
						break
					}
				}
				if !found {
					return gateway.Errorf(gateway.KindInternal, "property %s's epoch %s: event %d follows event %d at the central, and no epoch it descends from holds the event before it that it chains from", property, epoch, seq, last)
				}
			}
			if sealed != (body == nil) {
				return gateway.Errorf(gateway.KindInternal, "property %s's epoch %s: event %d is stored with no body and unsealed, or sealed with a body, at the central", property, epoch, seq)
			}
			if len(h) != 32 {
				return gateway.Errorf(gateway.KindInternal, "property %s's epoch %s: event %d's stored hash is not 32 bytes at the central", property, epoch, seq)
			}
			// A sealed event (no body): its hash is taken for its link.
			if body != nil {
				if want := chainHash(prev, []byte(*body)); string(want[:]) != string(h) {
					return gateway.Errorf(gateway.KindInternal, "property %s's epoch %s: event %d's hash does not chain from event %d's at the central", property, epoch, seq, n)
				}
			}
			copy(prev[:], h)
			n++
			last = uint64(seq)
		}
		return rows.Err()
	})
	if err != nil && !gateway.IsKind(err, gateway.KindInternal) {
		return n, classify(err, fmt.Sprintf("verify property %s's epoch %s", property, epoch))
	}
	return n, err
}
