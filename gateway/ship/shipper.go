package ship

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/backoff"
)

// The shipper sends the journal's events above the central's acknowledged
// cursor to the central (docs/central.md, "The property's side"). It reads
// in read-only transactions (gateway.Queries.Events), so the engine's commits never
// wait for it; its only write is the cursor, one small commit per
// acknowledged batch.

// Shipper defaults.
const (
	// ShipBatchMax is the default central.batch_max; ShipBatchLimit the
	// most a central takes in one batch (ship.MaxEvents).
	ShipBatchMax   = 5_000
	ShipBatchLimit = MaxEvents
	// ShipBatchBytes is about the most bytes of event bodies one batch
	// carries, so that a batch of long records stays a few MiB.
	ShipBatchBytes = 4 << 20
	// ShipPoll is how often an idle shipper looks for new events: one
	// read-only transaction reading the journal's last sequence number.
	// While calls trickle in, it is also how often a batch goes: once a
	// second keeps the shipper's CPU (reading, compressing, sending) from
	// meeting a posting more than rarely.
	ShipPoll = time.Second
	// ShipCursorEvery is how often, at most, the cursor is persisted
	// while batches flow: each is a commit with its fsync, which an
	// engine's commit would wait behind.
	ShipCursorEvery = time.Minute
	// ShipIdleProbe is how often an idle shipper asks the central for its
	// cursor (when the sink can), so that a link down shows while no
	// events flow.
	ShipIdleProbe = 60 * time.Second
)

// A CentralSink's error wraps ErrTooLarge when the central refused a batch
// as too large (HTTP 413): the shipper halves its batch; it wraps ErrChain
// when the central refused the batch's hash chain (HTTP 422): the shipper
// stops shipping the epoch and raises its alarm for a person.

// CentralProber is a gateway.CentralSink that can also ask the central's cursor
// for an epoch without sending a batch (GET /v1/cursor): the idle
// shipper's heartbeat.
type CentralProber interface {
	Cursor(ctx context.Context, epoch string) (gateway.ShipAck, error)
}

// Shipper ships the journal to a central. Set the fields, then Run.
type Shipper struct {
	Sink    gateway.CentralSink
	Journal gateway.Journal // ShipCursor, SetShipCursor
	Queries gateway.Queries // Events, Info, Guests
	// BatchMax is the most events a batch carries (default ShipBatchMax,
	// at most ShipBatchLimit); BatchBytes about the most bytes of bodies
	// (default ShipBatchBytes; a single longer event still goes alone).
	BatchMax   int
	BatchBytes int
	// GuestNames ships the names and personal data of the guests the
	// batch's events name (central.ship_guest_names; default false).
	// Without it, guest events that hold personal data (written before
	// journal schema 4) are shipped sealed (Seal).
	GuestNames bool
	// Site, if set, gives the property's snapshot sent with every batch.
	Site func() gateway.SiteSnapshot
	// Wake, if set, signals that events were journaled: the shipper looks
	// at once instead of at its next poll.
	Wake <-chan struct{}
	// CursorEvery is how often, at most, the acknowledged cursor is
	// persisted while batches flow (default ShipCursorEvery); it is also
	// persisted when the shipper falls idle after that and when it stops.
	// A cursor not yet persisted when the process dies only makes the
	// next start send those events again, which the central skips.
	CursorEvery time.Duration
	// Poll is how often an idle shipper looks for new events (default
	// ShipPoll); IdleProbe how often it asks an idle central's cursor
	// (default ShipIdleProbe; only with a CentralProber).
	Poll      time.Duration
	IdleProbe time.Duration
	// RetryMin and RetryMax bound the back-off after a failed send
	// (defaults 1 s and 5 min); each wait is drawn between half and the
	// whole of the back-off's step (jitter), so that properties cut off
	// together do not come back together.
	RetryMin, RetryMax time.Duration
	Logger             zerolog.Logger
	// gateway.Clock is the shipper's time (default the real clock).
	Clock gateway.Clock

	mu     sync.Mutex
	status ShipStatus
}

// ShipStatus is the shipper's state for the console, /metrics and
// /api/v1/status. Counters run since the shipper started.
type ShipStatus struct {
	Running bool
	Epoch   string
	// Cursor is the central's acknowledged cursor; LastSeq the journal's
	// last event when the shipper last looked.
	Cursor  uint64
	LastSeq uint64
	// Oldest is the time (UTC) of the oldest event not yet acknowledged,
	// zero when none waits.
	Oldest time.Time
	// LastSuccess is when the central last answered (UTC).
	LastSuccess time.Time
	// LastError is the last failure's sentence, "" after a success;
	// LastErrorAt when it happened.
	LastError   string
	LastErrorAt time.Time
	// Stopped is set when the central refused the epoch's hash chain: a
	// person must look (docs/central.md).
	Stopped bool
	// Batches and Events count the batches the central acknowledged and
	// the events they newly stored.
	Batches, Events uint64
	// Batch is the batch size the shipper uses now (halved after a 413).
	Batch int
}

// LagEvents is how many events wait to be acknowledged.
func (s ShipStatus) LagEvents() uint64 {
	if s.LastSeq <= s.Cursor {
		return 0
	}
	return s.LastSeq - s.Cursor
}

// Lag is how long the oldest unacknowledged event has waited at now.
func (s ShipStatus) Lag(now time.Time) time.Duration {
	if s.Oldest.IsZero() || s.LagEvents() == 0 {
		return 0
	}
	return max(0, now.Sub(s.Oldest))
}

// Status returns a snapshot of the shipper.
func (s *Shipper) Status() ShipStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *Shipper) set(fn func(*ShipStatus)) {
	s.mu.Lock()
	fn(&s.status)
	s.mu.Unlock()
}

func (s *Shipper) clock() gateway.Clock {
	if s.Clock == nil {
		return gateway.RealClock{}
	}
	return s.Clock
}

// Run ships until ctx ends; it returns nil then. It returns an error only
// when the journal cannot be read at start.
func (s *Shipper) Run(ctx context.Context) error {
	batchMax := s.BatchMax
	if batchMax <= 0 {
		batchMax = ShipBatchMax
	}
	batchMax = min(batchMax, ShipBatchLimit)
	maxBytes := s.BatchBytes
	if maxBytes <= 0 {
		maxBytes = ShipBatchBytes
	}
	poll, probe := s.Poll, s.IdleProbe
	if poll <= 0 {
		poll = ShipPoll
	}
	if probe <= 0 {
		probe = ShipIdleProbe
	}
	rmin, rmax := s.RetryMin, s.RetryMax
	if rmin <= 0 {
		rmin = time.Second
	}
	if rmax <= 0 {
		rmax = 5 * time.Minute
	}
	log := s.Logger.With().Str("component", "shipper").Logger()
	in, err := s.Queries.Info(ctx)
	if err != nil {
		return err
	}
	ack, err := s.Journal.ShipCursor(ctx)
	if err != nil {
		return err
	}
	every := s.CursorEvery
	if every <= 0 {
		every = ShipCursorEvery
	}
	r := shipRun{s: s, log: log, epoch: in.Epoch, chainEpoch: in.ChainEpoch, follows: in.Follows, followsEntry: in.FollowsEntry, ancestry: in.Ancestry, cursor: ack.Cursor, batch: batchMax, batchMax: batchMax, maxBytes: maxBytes,
		every: every, saved: s.clock().Now()}
	defer func() {
		// The last acknowledgement is kept as the shipper stops (the
		// journal closes after it).
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.save(sctx); err != nil {
			log.Warn().Err(err).Msg("the central's cursor was not kept: the next start sends the last events again, and the central skips them")
		}
	}()
	s.set(func(st *ShipStatus) {
		st.Running, st.Epoch, st.Cursor, st.LastSeq, st.Batch = true, in.Epoch, ack.Cursor, in.LastSeq, batchMax
		if !ack.At.IsZero() {
			st.LastSuccess = ack.At
		}
	})
	defer s.set(func(st *ShipStatus) { st.Running = false })
	if in.Follows != "" {
		log.Info().Str("epoch", in.Epoch).Str("follows", in.Follows).Uint64("follows_entry", in.FollowsEntry).Msg("the journal file was replaced: this epoch ships the log again (from its first event, or after the events retention removed), the central counts the calls both epochs hold once")
	}
	log.Info().Str("epoch", in.Epoch).Uint64("cursor", ack.Cursor).Uint64("last_event", in.LastSeq).Msg("shipping the journal to the central")
	bo := backoff.New(rmin, rmax)
	idleSince := s.clock().Now()
	for ctx.Err() == nil {
		sent, err := r.step(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil && sent:
			bo.Reset()
			idleSince = s.clock().Now()
			continue
		case err == nil: // nothing to ship
			if r.unsaved && s.clock().Now().Sub(r.saved) >= every {
				if err := r.save(ctx); err != nil && ctx.Err() == nil {
					r.failed(err)
				}
			}
			if s.clock().Now().Sub(idleSince) >= probe {
				r.probe(ctx)
				idleSince = s.clock().Now()
			}
			s.wait(ctx, poll)
			continue
		case errors.Is(err, errResend):
			bo.Reset()
			continue
		}
		r.failed(err)
		if r.stopped {
			<-ctx.Done()
			return nil
		}
		d := jitter(bo.Next())
		log.Debug().Dur("wait", d).Msg("shipping waits before its next try")
		s.wait(ctx, d)
	}
	return nil
}

// jitter draws a wait between half and the whole of d, so that properties
// cut off together do not come back together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// wait returns after d, at Wake, or when ctx ends.
func (s *Shipper) wait(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-s.clock().After(d):
	case <-s.Wake:
	}
}

// errResend: the central asked for events from another point (a gap) or a
// smaller batch: try again at once.
var errResend = errors.New("resend")

// shipRun is the state of Run's loop.
type shipRun struct {
	s     *Shipper
	log   zerolog.Logger
	epoch string
	// chainEpoch, follows and followsEntry go with every batch of an
	// epoch a replaced journal file started (docs/central.md, "Epochs").
	chainEpoch, follows string
	followsEntry        uint64
	ancestry            []gateway.EpochAncestor
	cursor              uint64 // the central's cursor as last acknowledged
	batch               int    // events per batch now
	batchMax            int
	maxBytes            int
	stopped             bool
	lastErr             string
	// The cursor is persisted at most every `every` while batches flow,
	// when the shipper falls idle after that, and when it stops: pending
	// is the last acknowledgement, unsaved whether it is not yet kept,
	// saved when one last was.
	every   time.Duration
	pending gateway.ShipAck
	unsaved bool
	saved   time.Time
}

// step reads the events above the cursor and sends one batch. It reports
// whether it sent one; nil and false when there was nothing to send.
func (r *shipRun) step(ctx context.Context) (bool, error) {
	q := r.s.Queries
	in, err := q.Info(ctx)
	if err != nil {
		return false, err
	}
	if in.LastSeq <= r.cursor { // the idle poll: one short read, nothing decoded
		r.s.set(func(st *ShipStatus) { st.LastSeq, st.Oldest = in.LastSeq, time.Time{} })
		return false, nil
	}
	since, extra := r.cursor, 0
	if r.cursor > 0 {
		since, extra = r.cursor-1, 1 // the event at the cursor, for its hash
	}
	evs, err := q.Events(ctx, gateway.EventFilter{Since: since, Limit: r.batch + extra})
	if err != nil {
		return false, err
	}
	var prev [32]byte
	if extra == 1 {
		if len(evs) == 0 || evs[0].Seq != r.cursor {
			return false, gateway.Errorf(gateway.KindInternal, "event %d of the journal, the last the central acknowledged, is not in the journal: it was pruned before central was configured, or the journal was replaced; the central cannot take the events after it", r.cursor)
		}
		prev = evs[0].Hash
		evs = evs[1:]
	}
	last := r.cursor
	if len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	r.s.set(func(st *ShipStatus) {
		st.LastSeq = max(in.LastSeq, last)
		st.Oldest = time.Time{}
		if len(evs) > 0 {
			st.Oldest = evs[0].Time
		}
	})
	if len(evs) == 0 {
		return false, nil
	}
	var skipped uint64 // the first event of a pruned run the batch goes on after
	if evs[0].Seq != r.cursor+1 {
		first, h, ok, err := r.prunedRun(ctx, evs[0].Seq)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, gateway.Errorf(gateway.KindInternal, "events %d to %d are not in the journal (pruned before central was configured): the central cannot take event %d without them; start a new journal (a new epoch) to ship from here", r.cursor+1, evs[0].Seq-1, evs[0].Seq)
		}
		// An epoch that follows another goes on after the events
		// retention removed: the central holds them in the epochs this
		// one follows, and checks that it holds event evs[0].Seq-1 with
		// this hash (docs/central.md, "Epochs").
		prev, skipped = h, first
	}
	size := 0
	for i, e := range evs {
		// A batch ends before a hole in the log (events pruned before
		// central was configured) and at about maxBytes of bodies.
		if i > 0 && (e.Seq != evs[i-1].Seq+1 || size+len(e.Body) > r.maxBytes) {
			evs = evs[:i]
			break
		}
		size += len(e.Body)
	}
	b := gateway.ShipBatch{Epoch: r.epoch, Events: evs, PrevHash: prev, Follows: r.follows, FollowsEntry: r.followsEntry,
		SealableUpto: in.SealableUpto, HasSealable: true}
	if len(r.ancestry) > 1 {
		b.Ancestry = r.ancestry
	}
	b.PrunedFrom = skipped
	if r.chainEpoch != r.epoch {
		b.ChainEpoch = r.chainEpoch
	}
	if !r.s.GuestNames {
		if err := sealOld(&b); err != nil {
			return false, err
		}
	}
	if r.s.Site != nil {
		b.Site = r.s.Site()
	}
	if b.Site.At.IsZero() {
		b.Site.At = r.s.clock().Now().UTC()
	}
	// The journal's last event as read now: the chain dashboard's lag in
	// events is Head less the central's cursor.
	b.Site.Head = max(in.LastSeq, last)
	if r.s.GuestNames {
		if b.GuestNames, err = r.guestNames(ctx, evs); err != nil {
			return false, err
		}
	}
	ack, err := r.s.Sink.Ship(ctx, b)
	var gap *gateway.ShipGapError
	switch {
	case errors.As(err, &gap):
		if last := max(in.LastSeq, evs[len(evs)-1].Seq); gap.Cursor > last {
			return false, aheadOfJournal(r.epoch, gap.Cursor, last)
		}
		if skipped != 0 && gap.Cursor+1 >= skipped {
			// Sending again from the central's cursor would skip the
			// same run again: the central lacks its last event.
			return false, gateway.Errorf(gateway.KindRejected, "epoch %s goes on after events %d to %d, which retention removed from the journal, and the central holds event %d with the hash the journal recorded in none of the epochs this one follows (%s): check that central.url and central.property name the central this journal shipped to before it was replaced; the events removed cannot be shipped again", r.epoch, skipped, evs[0].Seq-1, evs[0].Seq-1, r.lineage())
		}
		r.log.Warn().Uint64("central_cursor", gap.Cursor).Uint64("first", evs[0].Seq).Msg("the central holds less than the batch assumed: resending from its cursor")
		if err := r.acked(ctx, gateway.ShipAck{Epoch: r.epoch, Cursor: gap.Cursor}, 0); err != nil {
			return false, err
		}
		return false, errResend
	case errors.Is(err, ErrTooLarge) && len(evs) > 1:
		r.batch = max(1, len(evs)/2)
		r.s.set(func(st *ShipStatus) { st.Batch = r.batch })
		r.log.Warn().Int("batch", r.batch).Msg("the central refused the batch as too large: halving it")
		return false, errResend
	case err != nil:
		return false, err
	}
	if ack.Epoch != r.epoch {
		return false, gateway.Errorf(gateway.KindRejected, "the central answered for epoch %q, and the batch was of epoch %s: check central.url names a callgate central", ack.Epoch, r.epoch)
	}
	// The central may hold more than the batch (a cursor not persisted
	// before a kill): the shipper goes on from the central's cursor. More
	// than the journal holds is another journal's.
	if last := max(in.LastSeq, evs[len(evs)-1].Seq); ack.Cursor > last {
		return false, aheadOfJournal(r.epoch, ack.Cursor, last)
	}
	if err := r.acked(ctx, ack, 1); err != nil {
		return false, err
	}
	if r.batch < r.batchMax {
		r.batch = min(r.batchMax, r.batch*2) // grow back after a halving
		r.s.set(func(st *ShipStatus) { st.Batch = r.batch })
	}
	return true, nil
}

// sealOld seals the batch's guest events written before journal schema 4
// (up to b.SealableUpto), which hold the guest's personal data
// (docs/central.md, "Guest data"). The central cannot check a sealed
// event's hash, so each is checked here first, from the hash before it:
// one that does not chain is a damaged or altered journal, which stops
// shipping (ErrChain) rather than go out under a hash nobody checked.
// The events are the run's own copies, read for this batch.
func sealOld(b *gateway.ShipBatch) error {
	prev := b.PrevHash
	if len(b.Events) > 0 && b.Events[0].Seq == 1 {
		prev = b.ChainGenesis()
	}
	for i := range b.Events {
		e := &b.Events[i]
		h := e.Hash
		if e.Seq <= b.SealableUpto {
			if sealed, ok := Seal(*e); ok {
				if chain(prev, e.Body) != e.Hash {
					return gateway.Wrap(gateway.KindInternal, ErrChain, fmt.Sprintf(
						"event %d of the journal does not chain from the one before it, and it would go sealed (without the body the central could check): the journal is damaged or was altered", e.Seq))
				}
				*e = sealed
			}
		}
		prev = h
	}
	return nil
}

// PrunedReader is a gateway.Queries that names the run of events
// retention removed just before an event (store.Journal does): the
// shipper of an epoch that follows another ships on after such a run.
type PrunedReader interface {
	PrunedBefore(ctx context.Context, seq uint64) (first uint64, hash [32]byte, ok bool, err error)
}

// prunedRun is the run of pruned events the journal records from at most
// the cursor's next event to seq-1, for an epoch that follows another;
// ok is false otherwise (a first epoch's hole is events lost before
// central was configured).
func (r *shipRun) prunedRun(ctx context.Context, seq uint64) (first uint64, hash [32]byte, ok bool, err error) {
	p, can := r.s.Queries.(PrunedReader)
	if r.follows == "" || !can {
		return 0, hash, false, nil
	}
	first, hash, ok, err = p.PrunedBefore(ctx, seq)
	if err != nil || !ok || first > r.cursor+1 {
		return 0, hash, false, err
	}
	return first, hash, true, nil
}

// lineage names the epochs this one follows, the oldest first.
func (r *shipRun) lineage() string {
	if len(r.ancestry) == 0 {
		return r.follows
	}
	var out string
	for i, a := range r.ancestry {
		if i > 0 {
			out += ", "
		}
		out += a.Epoch
	}
	return out
}

// acked persists the central's cursor and counts it; batches is 1 for an
// acknowledged batch, 0 for a cursor learnt otherwise.
func (r *shipRun) acked(ctx context.Context, ack gateway.ShipAck, batches uint64) error {
	if ack.At.IsZero() {
		ack.At = r.s.clock().Now().UTC()
	}
	ack.Epoch = r.epoch
	answered := r.s.clock().Now().UTC() // when the central answered, not when its cursor last moved
	// An idle probe that finds the cursor where it was costs no commit.
	if r.unsaved || ack.Cursor != r.pending.Cursor || ack.Epoch != r.pending.Epoch {
		r.unsaved, r.pending = true, ack
	}
	if r.unsaved && (batches == 0 || r.s.clock().Now().Sub(r.saved) >= r.every) {
		// A cursor learnt otherwise than by a batch (a gap, a probe) is
		// kept at once: it may be lower than the one kept.
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	var gained uint64
	if ack.Cursor > r.cursor {
		gained = ack.Cursor - r.cursor
	}
	r.cursor = ack.Cursor
	if r.lastErr != "" {
		r.log.Info().Uint64("cursor", ack.Cursor).Msg("the central takes the journal's events again")
		r.lastErr = ""
	}
	r.s.set(func(st *ShipStatus) {
		st.Cursor, st.LastSuccess, st.LastError = ack.Cursor, answered, ""
		st.Batches += batches
		st.Events += gained
	})
	return nil
}

// save persists the last acknowledged cursor if it is not yet: one small
// commit of its own (docs/central.md, "The shipper").
func (r *shipRun) save(ctx context.Context) error {
	if !r.unsaved {
		return nil
	}
	if err := r.s.Journal.SetShipCursor(ctx, r.pending); err != nil {
		return err
	}
	r.unsaved, r.saved = false, r.s.clock().Now()
	return nil
}

// probe asks an idle central's cursor (the heartbeat): a central that
// holds less than acknowledged (restored from a backup) gets the events
// again; one that holds more is believed only up to the journal's end.
func (r *shipRun) probe(ctx context.Context) {
	p, ok := r.s.Sink.(CentralProber)
	if !ok {
		return
	}
	ack, err := p.Cursor(ctx, r.epoch)
	if err != nil {
		if ctx.Err() == nil {
			r.failed(err)
		}
		return
	}
	in, err := r.s.Queries.Info(ctx)
	if err != nil || ack.Cursor > in.LastSeq {
		if err == nil {
			err = aheadOfJournal(r.epoch, ack.Cursor, in.LastSeq)
		}
		r.failed(err)
		return
	}
	if ack.Cursor != r.cursor {
		r.log.Warn().Uint64("central_cursor", ack.Cursor).Uint64("cursor", r.cursor).Msg("the central's cursor differs from the one acknowledged: shipping from the central's")
	}
	if err := r.acked(ctx, ack, 0); err != nil {
		r.failed(err)
	}
}

// failed records a failure: logged once per distinct sentence (not at
// every retry), shown in the status; a broken chain stops the epoch.
func (r *shipRun) failed(err error) {
	msg := err.Error()
	if errors.Is(err, ErrChain) {
		r.stopped = true
		msg = fmt.Sprintf("shipping of epoch %s stopped: %s; run `gateway journal verify` here and compare with the central before shipping again (restart the gateway to retry)", r.epoch, msg)
	}
	if msg != r.lastErr {
		r.log.Error().Err(err).Uint64("cursor", r.cursor).Msg("the central did not take the journal's events")
		r.lastErr = msg
	}
	now := r.s.clock().Now().UTC()
	r.s.set(func(st *ShipStatus) {
		st.LastError, st.LastErrorAt, st.Stopped = msg, now, r.stopped
	})
}

// guestNames returns the names and personal data the journal holds for
// the stays the events name (room and reservation in their data).
func (r *shipRun) guestNames(ctx context.Context, evs []gateway.Event) ([]gateway.ShipGuestName, error) {
	type stayKey struct{ room, res string }
	rooms := map[string]map[string]bool{}
	for _, e := range evs {
		if len(e.Data) == 0 || e.Data[0] != '{' {
			continue
		}
		var d struct {
			Room        string `json:"room"`
			Reservation string `json:"reservation"`
		}
		if json.Unmarshal(e.Data, &d) != nil || d.Room == "" {
			continue
		}
		if rooms[d.Room] == nil {
			rooms[d.Room] = map[string]bool{}
		}
		rooms[d.Room][d.Reservation] = true
	}
	var out []gateway.ShipGuestName
	seen := map[stayKey]bool{}
	for room, res := range rooms {
		gs, err := r.s.Queries.Guests(ctx, room)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			k := stayKey{g.Room, g.Reservation}
			n := gateway.ShipGuestName{Room: g.Room, Reservation: g.Reservation, LastName: g.LastName, FirstName: g.FirstName, Title: g.Title,
				Language: g.Language, VIP: g.VIP, Group: g.Group, NoPost: g.NoPost, ClassOfService: g.ClassOfService}
			if seen[k] || !res[""] && !res[g.Reservation] || n == (gateway.ShipGuestName{Room: g.Room, Reservation: g.Reservation}) {
				continue
			}
			seen[k] = true
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b gateway.ShipGuestName) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.Reservation, b.Reservation))
	})
	return out, nil
}

// aheadOfJournal is the refusal of a central whose cursor for epoch is
// beyond the journal's last event: another journal ships as this property.
func aheadOfJournal(epoch string, cursor, last uint64) error {
	return gateway.Errorf(gateway.KindRejected, "the central holds epoch %s up to event %d, beyond this journal's event %d: two gateways ship as one property; give each its own central.property and token", epoch, cursor, last)
}
