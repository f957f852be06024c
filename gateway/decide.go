package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// Rating is what a record's parse and rating made of it: the first half of
// the decision, shared by the engine and the history import. Exactly one
// of NotCall, ParseErr, RateErr and Charge says where it ended.
type Rating struct {
	Call     Call
	Charge   *Charge // nil unless rated
	NotCall  bool    // a header, summary or information line
	ParseErr error   // a record that should be a call and cannot be read
	RateErr  error   // a call the tariff cannot price at all
}

// Rate parses rec with p and rates the call with r. A parser or tariff that
// panics on a record is an error for that record, never the end of the
// process (docs/design.md "Invariants", 1 and 4).
func Rate(p RecordParser, r Rater, rec RawRecord) Rating {
	call, err := safeParse(p, rec)
	switch {
	case errors.Is(err, ErrNotCall):
		return Rating{NotCall: true}
	case err != nil:
		return Rating{ParseErr: err}
	}
	charge, err := safeRate(r, call)
	if err != nil {
		return Rating{Call: call, RateErr: err}
	}
	return Rating{Call: call, Charge: &charge}
}

func safeParse(p RecordParser, rec RawRecord) (c Call, err error) {
	defer func() {
		if v := recover(); v != nil {
			c, err = Call{}, fmt.Errorf("the parser failed on this record (%v): report it with the raw record", v)
		}
	}()
	return p.Parse(rec)
}

func safeRate(r Rater, c Call) (ch Charge, err error) {
	defer func() {
		if v := recover(); v != nil {
			ch, err = Charge{}, fmt.Errorf("the tariff failed on this call (%v): report it with the raw record", v)
		}
	}()
	return r.Rate(c)
}

// Verdict is what a rated call's charge and extension make of it, before
// the room's guests are asked: not chargeable, an exception, or a posting
// for Room (StateQueued).
type Verdict struct {
	To     State
	Reason string // why, for not chargeable and exception
	// Room is the room the call's extension maps to, "" if none: set
	// whatever To is (history is imported with its room).
	Room string
}

// Judge gives the verdict on a rated call: the rules of what is posted,
// for the engine's decision and the history import.
func Judge(call *Call, ch *Charge, rooms RoomMap) Verdict {
	const incomplete = "rated entry without its call or charge"
	if call == nil {
		return Verdict{To: StateException, Reason: incomplete}
	}
	room, why := rooms.Resolve(call.Extension)
	v := Verdict{To: StateQueued, Room: room}
	switch {
	case ch == nil:
		v.To, v.Reason = StateException, incomplete
	case ch.Exception != nil:
		v.To, v.Reason = StateException, "tariff: "+*ch.Exception+" ("+MaskNumber(call.Dialed)+")"
	case !ch.Postable():
		v.To, v.Reason = StateNotChargeable, notChargeableReason(*call, *ch)
	case why == RoomNotARoom:
		v.To, v.Reason = StateNotChargeable, "extension "+call.Extension+" is not a room: accounted, never posted"
	case why == RoomUnknown, why == RoomNoExtension:
		v.To, v.Reason = StateException, fmt.Sprintf("extension %q maps to no room: add it to rooms in the config, or transfer the charge", call.Extension)
	}
	return v
}

// process parses and rates a captured record and decides what becomes of it.
func (e *Engine) process(ctx context.Context, id EntryID, rec RawRecord) {
	r := Rate(e.Parser, e.Rater, rec)
	switch {
	case r.NotCall:
		e.count(func(s *Status) { s.NotCalls++ })
		e.move(ctx, id, Change{To: StateNotChargeable, Reason: "not a call record (a header, summary or information line)"})
		return
	case r.ParseErr != nil:
		e.count(func(s *Status) { s.ParseErrors++ })
		e.move(ctx, id, Change{To: StateException, Reason: "unreadable record: " + r.ParseErr.Error()})
		e.Logger.Warn().Uint64("entry", uint64(id)).Err(r.ParseErr).Msg("a PBX record could not be read: it waits in the exceptions")
		return
	case r.RateErr != nil:
		e.move(ctx, id, Change{To: StateException, Call: &r.Call, Reason: "cannot be rated: " + r.RateErr.Error()})
		return
	}
	rated := Move{ID: id, Change: Change{To: StateRated, Call: &r.Call, Charge: r.Charge}}
	d, ok := e.decision(ctx, id, &r.Call, r.Charge)
	if !ok {
		e.move(ctx, id, rated.Change) // stays rated; the next start goes on with it
		return
	}
	// The rating and the decision share one commit: two events, one fsync.
	e.settle(ctx, d, rated, d.Move)
	e.checkCall(id, []Change{rated.Change, d.Change}) // the fraud rules (rules_alarms.go)
}

// decide moves a rated entry on: not chargeable, an exception, or queued.
func (e *Engine) decide(ctx context.Context, en Entry) {
	if d, ok := e.decision(ctx, en.ID, en.Call, en.Charge); ok {
		e.settle(ctx, d, d.Move)
	}
}

// decided is the engine's decision on a rated entry: the move that takes
// it on, and what was judged of its room's occupancy on the way.
type decided struct {
	Move
	occ occupancy
}

// decision returns the move that takes a rated entry on: not chargeable, an
// exception, or queued. It reports false when the room's guests cannot be
// read: the entry then stays rated (and the next start goes on with it).
func (e *Engine) decision(ctx context.Context, id EntryID, call *Call, ch *Charge) (decided, bool) {
	return e.decisionIn(ctx, id, call, ch, nil)
}

// decisionIn is decision with the occupancy of the rooms already judged for
// the same burst of records (memo, nil for none; see handleAll): a room's
// guests are read once per burst, not once per record.
func (e *Engine) decisionIn(ctx context.Context, id EntryID, call *Call, ch *Charge, memo map[string]occupancy) (decided, bool) {
	v := Judge(call, ch, e.Rooms)
	if v.To != StateQueued {
		return decided{Move: Move{ID: id, Change: Change{To: v.To, Reason: v.Reason}}}, true
	}
	occ, ok := memo[v.Room]
	var err error
	if !ok {
		occ, err = e.occupancy(ctx, v.Room)
		if err == nil && memo != nil {
			memo[v.Room] = occ
		}
	}
	if err != nil {
		if ctx.Err() == nil { // a read cut by the stop is no error
			e.Logger.Error().Err(err).Msg("reading the guests of a room")
		}
		return decided{}, false
	}
	if occ.vacant {
		return decided{Move{ID: id, Change: Change{To: StateException, Room: v.Room, Reason: vacantReason(v.Room)}}, occ}, true
	}
	return decided{Move{ID: id, Change: Change{To: StateQueued, Room: v.Room, Reservation: occ.reservation}}, occ}, true
}

// occupancy is what the engine knows of a room's guests when it decides.
type occupancy struct {
	// known is set when the engine has the PMS's guest data: until then
	// rooms are not judged vacant.
	known bool
	// vacant: nobody stays in the room and PostToVacant is off, so its
	// charges are held as exceptions.
	vacant      bool
	reservation string // the reservation of the room's first guest, "" if none or unknown
}

// occupancy judges room: the one place the vacant-room rule lives.
func (e *Engine) occupancy(ctx context.Context, room string) (occupancy, error) {
	if !e.guestData.Load() {
		return occupancy{}, nil
	}
	gs, err := e.Queries.Guests(ctx, room)
	if err != nil {
		return occupancy{}, err
	}
	if len(gs) == 0 {
		return occupancy{known: true, vacant: !e.PostToVacant}, nil
	}
	return occupancy{known: true, reservation: gs[0].Reservation}, nil
}

func vacantReason(room string) string {
	return "room " + room + " is vacant: a late charge for the night auditor"
}

// settle journals the moves that end a record's processing in one commit.
// A posting that is queued goes on to sent in that commit when the poster
// can take it at once (sendNow); otherwise the poster is woken.
func (e *Engine) settle(ctx context.Context, d decided, moves ...Move) {
	if d.To != StateQueued {
		e.moveAll(ctx, moves)
		return
	}
	if e.sendNow(ctx, d, moves) {
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
func (e *Engine) sendNow(ctx context.Context, d decided, moves []Move) bool {
	e.postMu.Lock()
	defer e.postMu.Unlock()
	if !e.canSendNow(ctx, d.occ.known) {
		return false
	}
	q := moves[len(moves)-1]
	toSent := Change{To: StateSent, Alone: true} // the journal checks again that nothing older waits
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

// canSendNow reports whether a posting just decided may go on to sent in
// the commit that queues it: the poster waits with nothing queued or sent
// and the link is ready. known says the decision judged the room's guests:
// one made before the PMS's guest data came did not, and the posting waits
// in the queue, where the poster judges it. The caller holds postMu.
func (e *Engine) canSendNow(ctx context.Context, known bool) bool {
	if !known || !e.postIdle || !e.PMS.Status().Ready() {
		return false
	}
	counts, err := e.Queries.Counts(ctx)
	return err == nil && counts.States[StateQueued] == 0 && counts.States[StateSent] == 0
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
