package gateway

import (
	"strings"
	"time"
)

// personal reports whether moving an entry from one state to another is a
// person's decision, which needs an actor and a reason.
func personal(from, to State) bool {
	switch to {
	case StatePostedByHand, StateReposted, StateTransferred, StateVoided:
		return true
	}
	return from.NeedsPerson()
}

// CheckMove enforces the rules of Journal.Move, for a journal to call
// before it makes a move: moving e (the entry as it stands, without its
// history) as c says. count tells how many entries are in a state now; it
// is asked only for a move made Alone. It returns nil, or an error of kind
// invalid naming the entry and what is missing, or of kind transient for an
// Alone move while other postings are queued or sent.
func CheckMove(e Entry, c Change, count func(State) int64) error {
	from, to := e.State, c.To
	bad := func(format string, args ...any) error {
		return Errorf(KindInvalid, "entry %d: "+format, append([]any{e.ID}, args...)...)
	}
	if !CanMove(from, to) {
		return bad("it is %s and cannot move to %s", from, to)
	}
	person := personal(from, to)
	if person && (strings.TrimSpace(c.Actor) == "" || strings.TrimSpace(c.Reason) == "") {
		return bad("moving it from %s to %s is a person's decision: say who (actor) and why (reason)", from, to)
	}
	if c.Call != nil {
		if from != StateCaptured {
			return bad("it was parsed before: a call comes only with the move out of captured")
		}
		if c.Call.Start.IsZero() || !c.Call.Direction.Valid() || c.Call.DurationS < 0 {
			return bad("the call has no start, no valid direction or a negative duration")
		}
	}
	if c.Charge != nil && from != StateCaptured && !person {
		return bad("a charge comes only with the rating, or with a person's decision")
	}
	// The guest's reservation, unknown when the posting was queued (before
	// the PMS's guest data came), may be filled in when it is sent.
	fillReservation := c.Room == "" && from == StateQueued && to == StateSent && e.Reservation == ""
	if (c.Room != "" || c.Reservation != "") && from != StateCaptured && from != StateRated && !person && !fillReservation {
		return bad("its room can only change when it is resolved, or by a person")
	}
	if strings.ContainsRune(c.Room, 0) || strings.ContainsRune(c.Reservation, 0) {
		return bad("the room or reservation holds a NUL byte")
	}
	if c.Answer != nil && from != StateSent && from != StateResolving {
		return bad("an answer from the PMS comes only with a move out of sent or resolving")
	}
	if c.Alone {
		if to != StateSent {
			return bad("only a move to sent can be made alone")
		}
		// This entry is queued itself (counted), about to be sent. A
		// posting being resolved (its answer lost) holds the queue as one
		// on the wire does (docs/posting-safety.md "Order").
		if q, sent := count(StateQueued), count(StateSent)+count(StateResolving); q > 1 || sent > 0 {
			return Errorf(KindTransient, "entry %d waits its turn: %d other postings are queued and %d sent", e.ID, q-1, sent)
		}
	}
	switch to {
	case StateRated:
		if c.Call == nil || c.Charge == nil {
			return bad("rating it needs the call and its charge")
		}
	case StateException, StateInDoubt:
		if strings.TrimSpace(c.Reason) == "" {
			return bad("moving it to %s needs the reason", to)
		}
	case StateRefused:
		if c.Answer == nil && strings.TrimSpace(c.Reason) == "" {
			return bad("a refusal needs the PMS's answer or a reason")
		}
	case StateTransferred:
		if strings.TrimSpace(c.Room) == "" {
			return bad("a transfer needs the room to charge instead")
		}
	}
	charge := c.Charge
	if charge == nil {
		charge = e.Charge
	}
	if to == StateQueued || to == StateReposted || to == StateTransferred {
		room := c.Room
		if room == "" {
			room = e.Room
		}
		if strings.TrimSpace(room) == "" {
			return bad("it has no room to post to: transfer it to a room, or void it")
		}
		if charge == nil || charge.TotalMinor <= 0 {
			return bad("it has no charge above zero to post")
		}
	}
	return nil
}

// NextPosting gives the posting number after last: one above it, wrapping
// to 1 after max, skipping numbers held by unresolved entries (held). It
// fails with KindTransient when every number is held.
func NextPosting(last, max uint32, held func(uint32) bool) (uint32, error) {
	n := last
	for range max {
		n++
		if n > max || n == 0 {
			n = 1
		}
		if !held(n) {
			return n, nil
		}
	}
	return 0, Errorf(KindTransient, "every posting number from 1 to %d is held by an unresolved entry: resolve the in-doubt and refused postings, or raise store.posting_number_max", max)
}

// CheckImport enforces the rules of Journal.Import on a batch: every
// record has raw bytes and a call with a start, a valid direction and a
// duration not below zero, and no room with a NUL byte. It names the first
// record that breaks one (kind invalid).
func CheckImport(recs []ImportRecord) error {
	for i, r := range recs {
		switch {
		case len(r.Raw.Data) == 0:
			return Errorf(KindInvalid, "import record %d has no raw bytes", i+1)
		case r.Call == nil:
			return Errorf(KindInvalid, "import record %d has no call", i+1)
		case r.Call.Start.IsZero() || !r.Call.Direction.Valid() || r.Call.DurationS < 0:
			return Errorf(KindInvalid, "import record %d: the call has no start, no valid direction or a negative duration", i+1)
		case strings.ContainsRune(r.Room, 0):
			return Errorf(KindInvalid, "import record %d: the room holds a NUL byte", i+1)
		}
	}
	return nil
}

// CheckStates refuses a batch of moves (Journal.MoveAll) naming a state
// that does not exist, before anything of it is tried.
func CheckStates(moves []Move) error {
	for _, m := range moves {
		if !m.To.Valid() {
			return Errorf(KindInvalid, "entry %d: %q is not a journal state", m.ID, m.To)
		}
	}
	return nil
}

// CheckCaptures is Journal.CaptureAll's check of a batch before anything is
// written: every record has bytes and every move names a journal state.
func CheckCaptures(cs []Capture) error {
	for i, c := range cs {
		if len(c.Rec.Data) == 0 {
			return Errorf(KindInvalid, "record %d of the batch has no bytes and cannot be journaled", i+1)
		}
		for _, ch := range c.Moves {
			if !ch.To.Valid() {
				return Errorf(KindInvalid, "record %d of the batch: %q is not a journal state", i+1, ch.To)
			}
		}
	}
	return nil
}

// CheckTotalsRange is Queries.Totals' check of its time range: in order, and
// at most TotalsMaxRange long.
func CheckTotalsRange(from, to time.Time) error {
	if to.Before(from) {
		return Errorf(KindInvalid, "the end of the time range (%s) is before its start (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if to.Sub(from) > TotalsMaxRange {
		return Errorf(KindInvalid, "totals cover at most %d days at once: shorten the range %s to %s", int(TotalsMaxRange/(24*time.Hour)), from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return nil
}
