package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Shipping a property's journal to the central (docs/central.md). The
// property's journal is the outbox: a shipper reads the events above the
// central's acknowledged cursor (read-only transactions, never a commit or a
// lock on the hot path) and sends them as ShipBatches; the central applies a
// batch in one PostgreSQL transaction keyed by (property, epoch, seq) and
// answers with its cursor. At-least-once delivery with an idempotent apply
// gives exactly-once effect.

// ShipBatch is a run of consecutive events of one journal epoch, as a
// property's shipper sends it to the central. The property is not in the
// batch: the central knows it from the token the batch came with, so that
// a property can write only its own stream.
type ShipBatch struct {
	// Epoch is the journal's epoch (JournalInfo.Epoch). A property whose
	// journal was replaced (a restored backup, a new disk) ships a new
	// epoch; the central keeps both.
	Epoch string
	// ChainEpoch is the epoch whose genesis event 1 chains from when it is
	// not Epoch: a replaced journal file starts a new epoch but goes on
	// with its first epoch's hash chain (docs/journal.md, "Epochs"). Empty
	// when it is Epoch.
	ChainEpoch string
	// Follows is the epoch this one follows when the journal file was
	// replaced (a backup put back in place: the backup's epoch), and
	// FollowsEntry the backup's last entry: entries 1 to FollowsEntry are
	// the same calls in both epochs, which the central counts once
	// (docs/central.md, "Epochs"). Empty for a journal's first epoch.
	Follows      string
	FollowsEntry uint64
	// Ancestry is the whole line of epochs this one descends from, the
	// oldest first and Follows last (JournalInfo.Ancestry), so that the
	// central knows an intermediate epoch it never received (a backup
	// restored, or compacted, and copied again before it shipped). Sent
	// only when it holds more than Follows.
	Ancestry []EpochAncestor
	// PrunedFrom, when not 0, says that the events from PrunedFrom to
	// Events[0].Seq-1 were removed by retention at the property (an epoch
	// that follows another, restored from a pruned backup): PrevHash is
	// the hash of the last of them, which the central holds in the
	// lineage (docs/central.md, "Epochs").
	PrunedFrom uint64
	// Events are consecutive (Seq without gaps, ascending); the first
	// follows the central's cursor or overlaps events it already holds
	// (which it skips). At least one.
	Events []Event
	// PrevHash is the hash of the event before Events[0] (zero when
	// Events[0].Seq is 1: event 1 chains from the epoch's genesis,
	// JournalGenesis), so the central can check the chain continues
	// from what it stored.
	PrevHash [32]byte
	// Site is the property as it stood when the batch was read, for the
	// chain dashboard (the last state shipped, not a live view).
	Site SiteSnapshot
	// GuestNames are the names and personal data of the guests of the
	// stays the batch's events name, shipped only when the property's
	// config sets central.ship_guest_names (default false: the central
	// needs rooms and stays, not names). Events never carry names, and
	// since journal schema 4 no personal data; older guest events that
	// do are shipped sealed unless ship_guest_names is set
	// (docs/central.md, "Guest data").
	GuestNames []ShipGuestName
	// SealableUpto is the journal's last event written before journal
	// schema 4 (JournalInfo.SealableUpto; 0 for a journal created at schema
	// 4), and HasSealable says the batch carries it (wire version 2; an
	// older shipper's batch does not). Only guest events up to it may come
	// sealed: the central keeps the first value it is told for the
	// (property, epoch) and refuses a sealed event above it
	// (docs/central.md, "Guest data").
	SealableUpto uint64
	HasSealable  bool
}

// ShipGuestName is one guest's names and personal data beside the shipped
// log.
type ShipGuestName struct {
	Room           string
	Reservation    string
	LastName       string
	FirstName      string
	Title          string
	Language       string
	VIP            string
	Group          string
	NoPost         bool
	ClassOfService string
}

// SealedGuestKeys are the keys of a guest event's data that a sealed event
// keeps: the stay, not the guest (docs/central.md, "Guest data").
var SealedGuestKeys = []string{"room", "reservation", "event", "shared", "arrival", "departure", "fields",
	"old_room", "old_room_shared", "resync", "partial", "pms_time"}

// RecordFieldIDs are the FIAS ids of the guest fields only the journal's
// guest record keeps (names and personal data): a sealed event's "fields"
// does not name them (docs/central.md, "Guest data").
var RecordFieldIDs = []string{"GN", "GF", "GT", "GL", "GV", "GG", "NP", "CS"}

// SealGuestData returns a guest event's data with only SealedGuestKeys,
// its "fields" without RecordFieldIDs, and whether the data held any
// other key or such an id (the guest's personal data in an event written
// before journal schema 4). The values kept are the data's own bytes,
// but for a "fields" that named such ids. data that is not a JSON object
// is an error.
func SealGuestData(data []byte) (json.RawMessage, bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, false, fmt.Errorf("a guest event's data is not a JSON object")
	}
	named := false
	if v, ok := m["fields"]; ok {
		var ids []string
		if json.Unmarshal(v, &ids) == nil && ids != nil {
			kept := make([]string, 0, len(ids))
			for _, id := range ids {
				if !slices.Contains(RecordFieldIDs, id) {
					kept = append(kept, id)
				}
			}
			if named = len(kept) < len(ids); named {
				// The list kept is never empty where the original was not
				// (an empty list would read as every field): it keeps
				// the room's id at least.
				if len(kept) == 0 {
					kept = append(kept, "RN")
				}
				m["fields"], _ = json.Marshal(kept) // strings
			}
		}
	}
	out := []byte{'{'}
	for _, k := range SealedGuestKeys {
		v, ok := m[k]
		if !ok {
			continue
		}
		delete(m, k)
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = AppendJSONString(out, k)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), named || len(m) > 0, nil
}

// SiteSnapshot is what the chain dashboard shows of a property beyond its
// events: the link state and the queues as the property last shipped them.
type SiteSnapshot struct {
	Name     string    // site.name
	Timezone string    // site.timezone (IANA)
	At       time.Time // when the snapshot was taken (UTC)
	Link     LinkState
	Queued   int64
	InDoubt  int64
	// Head is the journal's last event (Seq) when the snapshot was taken:
	// the chain dashboard's lag in events is Head less the central's
	// cursor. 0 when the property does not say.
	Head uint64
	// Version is the gateway's version (buildinfo).
	Version string
}

// ShipAck is the central's answer to a batch: the last sequence number it
// holds for the epoch (everything up to it is stored; the shipper resumes
// after it).
type ShipAck struct {
	Epoch  string
	Cursor uint64
	At     time.Time // when the central committed it (UTC)
}

// ShipGapError is the central's refusal of a batch that does not start at
// or before cursor+1: the property resends from Cursor+1. Its kind is
// KindRejected.
type ShipGapError struct {
	Epoch  string
	Cursor uint64
	First  uint64 // the batch's first sequence number
}

func (e *ShipGapError) Error() string {
	return fmt.Sprintf("the central holds epoch %s up to event %d, and this batch starts at %d: resend from %d", e.Epoch, e.Cursor, e.First, e.Cursor+1)
}

// ErrShipChain is wrapped by every refusal of a batch whose hash chain does
// not hold: within the batch (gateway/ship's decoding) or against what the
// central stored (another journal claims the epoch, a journal altered). The
// central answers it with HTTP 422 (docs/central.md).
var ErrShipChain = errors.New("hash chain broken")

// CentralSink takes a property's batches (package gateway/ship: over
// HTTPS). Ship returns the central's cursor after applying the batch; a
// *ShipGapError (errors.As) when the batch leaves a gap; KindTransient
// when the central could not be reached or answered 5xx; KindRejected or
// KindInvalid when it refused the batch (token, property, malformed,
// oversized, a broken hash chain) with its sentence.
type CentralSink interface {
	Ship(ctx context.Context, b ShipBatch) (ShipAck, error)
}

// CentralApplier is the central's side: it applies one property's batch in
// one transaction and answers its cursor (package store/postgres). property
// is the name the batch's token belongs to. Errors as CentralSink.Ship.
type CentralApplier interface {
	Apply(ctx context.Context, property string, b ShipBatch) (ShipAck, error)
}

// JournalGenesis is the "hash of event 0" of a journal epoch, from which
// its event 1 chains: SHA-256 of "callgate journal " and the epoch
// (docs/journal.md, "Hash chain"). The central checks a property's first
// events from it.
func JournalGenesis(epoch string) [32]byte {
	return sha256.Sum256([]byte("callgate journal " + epoch))
}

// ChainGenesis is the hash event 1 of the batch's epoch chains from: the
// genesis of ChainEpoch, or of Epoch when the batch names no chain epoch.
func (b *ShipBatch) ChainGenesis() [32]byte {
	if b.ChainEpoch != "" {
		return JournalGenesis(b.ChainEpoch)
	}
	return JournalGenesis(b.Epoch)
}
