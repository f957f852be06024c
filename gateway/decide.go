package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// process parses and rates a captured record and decides what becomes of it.
func (e *Engine) process(ctx context.Context, id EntryID, rec RawRecord) {
	call, err := e.Parser.Parse(rec)
	switch {
	case errors.Is(err, ErrNotCall):
		e.count(func(s *Status) { s.NotCalls++ })
		e.move(ctx, id, Change{To: StateNotChargeable, Reason: "not a call record (a header, summary or information line)"})
		return
	case err != nil:
		e.count(func(s *Status) { s.ParseErrors++ })
		e.move(ctx, id, Change{To: StateException, Reason: "unreadable record: " + err.Error()})
		e.Logger.Warn().Uint64("entry", uint64(id)).Err(err).Msg("a PBX record could not be read: it waits in the exceptions")
		return
	}
	charge, err := e.Rater.Rate(call)
	if err != nil {
		e.move(ctx, id, Change{To: StateException, Call: &call, Reason: "cannot be rated: " + err.Error()})
		return
	}
	rated := Move{ID: id, Change: Change{To: StateRated, Call: &call, Charge: &charge}}
	next, ok := e.decision(ctx, id, &call, &charge)
	if !ok {
		e.move(ctx, id, rated.Change) // stays rated; the next start goes on with it
		return
	}
	// The rating and the decision share one commit: two events, one fsync.
	e.settle(ctx, rated, next)
}

// decide moves a rated entry on: not chargeable, an exception, or queued.
func (e *Engine) decide(ctx context.Context, en Entry) {
	if next, ok := e.decision(ctx, en.ID, en.Call, en.Charge); ok {
		e.settle(ctx, next)
	}
}

// decision returns the move that takes a rated entry on: not chargeable, an
// exception, or queued. It reports false when the room's guests cannot be
// read: the entry then stays rated (and the next start goes on with it).
func (e *Engine) decision(ctx context.Context, id EntryID, call *Call, ch *Charge) (Move, bool) {
	to := func(c Change) (Move, bool) { return Move{ID: id, Change: c}, true }
	if call == nil || ch == nil {
		return to(Change{To: StateException, Reason: "rated entry without its call or charge"})
	}
	if ch.Exception != nil {
		return to(Change{To: StateException, Reason: "tariff: " + *ch.Exception + " (" + MaskNumber(call.Dialed) + ")"})
	}
	if !ch.Postable() {
		return to(Change{To: StateNotChargeable, Reason: notChargeableReason(*call, *ch)})
	}
	room, why := e.Rooms.Resolve(call.Extension)
	switch why {
	case RoomNotARoom:
		return to(Change{To: StateNotChargeable, Reason: "extension " + call.Extension + " is not a room: accounted, never posted"})
	case RoomUnknown, RoomNoExtension:
		return to(Change{To: StateException, Reason: fmt.Sprintf("extension %q maps to no room: add it to rooms in the config, or transfer the charge", call.Extension)})
	}
	var reservation string
	if e.guestData.Load() {
		gs, err := e.Queries.Guests(ctx, room)
		if err != nil {
			e.Logger.Error().Err(err).Msg("reading the guests of a room")
			return Move{}, false
		}
		if len(gs) == 0 && !e.PostToVacant {
			return to(Change{To: StateException, Room: room, Reason: "room " + room + " is vacant: a late charge for the night auditor"})
		}
		if len(gs) > 0 {
			reservation = gs[0].Reservation
		}
	}
	return to(Change{To: StateQueued, Room: room, Reservation: reservation})
}

// settle journals the moves that end a record's processing in one commit.
// A posting that is queued goes on to sent in that commit when the poster
// can take it at once (sendNow); otherwise the poster is woken.
func (e *Engine) settle(ctx context.Context, moves ...Move) {
	if moves[len(moves)-1].To != StateQueued {
		e.moveAll(ctx, moves)
		return
	}
	if e.sendNow(ctx, moves) {
		return
	}
	if e.moveAll(ctx, moves) {
		e.Wake()
	}
}

// sendNow journals moves, the last of which queues a posting, together with
// that posting's move to sent, and hands it to the poster — when the poster
// waits with nothing queued or sent and the link is ready, so that the
// posting is the next in call order and FIAS's one posting outstanding
// holds. It reports whether it did; if not, nothing was journaled.
//
// The invariant is kept: sent is committed before the PS is written, by the
// poster, which got the entry from this commit. An entry handed over but
// never written (the engine stopped) is still posted by the poster before
// it stops (see postLoop), so it is never left sent for nothing.
func (e *Engine) sendNow(ctx context.Context, moves []Move) bool {
	e.postMu.Lock()
	defer e.postMu.Unlock()
	if !e.postIdle || !e.guestData.Load() || !e.PMS.Status().Ready() {
		return false
	}
	counts, err := e.Queries.Counts(ctx)
	if err != nil || counts.States[StateQueued] > 0 || counts.States[StateSent] > 0 {
		return false
	}
	q := moves[len(moves)-1]
	// The decision may have been made before the PMS's guest data came:
	// judge the room now, as the poster would (a vacant room's charge
	// waits in the queue, where the poster makes it the exception).
	vacant, guest := e.occupant(ctx, q.Room)
	if vacant {
		return false
	}
	toSent := Change{To: StateSent, Alone: true} // the journal checks again that nothing older waits
	if q.Reservation == "" {
		toSent.Reservation = guest
	}
	sent, err := e.Journal.MoveAll(ctx, append(moves[:len(moves):len(moves)], Move{ID: q.ID, Change: toSent}))
	if err != nil {
		lvl := zerolog.WarnLevel
		if IsTransient(err) {
			lvl = zerolog.DebugLevel // an older posting came first: this one queues behind it
		}
		e.Logger.WithLevel(lvl).Err(err).Uint64("entry", uint64(q.ID)).Msg("journaling a posting as queued and sent at once failed: queuing it alone")
		return false
	}
	e.postIdle = false
	e.handoff <- sent
	return true
}

func notChargeableReason(c Call, ch Charge) string {
	switch {
	case c.Direction != Outgoing:
		return string(c.Direction) + " call"
	case c.Answered != nil && !*c.Answered, c.DurationS == 0:
		return "not answered"
	case !ch.Chargeable:
		return "under the grace time"
	default:
		return "nothing to charge (total 0)"
	}
}

// occupant reports whether room is known to be empty (and such postings are
// held), and the reservation of the room's first guest ("" if unknown).
func (e *Engine) occupant(ctx context.Context, room string) (vacant bool, reservation string) {
	if !e.guestData.Load() {
		return false, ""
	}
	gs, err := e.Queries.Guests(ctx, room)
	if err != nil {
		return false, ""
	}
	if len(gs) == 0 {
		return !e.PostToVacant, ""
	}
	return false, gs[0].Reservation
}
