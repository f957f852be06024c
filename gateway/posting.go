package gateway

// State is where a journal entry stands. Every record read gets one entry that
// moves through these states; see docs/journal.md "Entries and their states".
type State string

// The journal states.
const (
	StateCaptured      State = "captured"       // raw bytes stored, nothing else yet
	StateRated         State = "rated"          // parsed and priced
	StateNotChargeable State = "not-chargeable" // incoming, internal, unanswered, under grace, total 0
	StateException     State = "exception"      // needs a person: unparseable, unknown room, tariff exception
	StateQueued        State = "queued"         // waiting to be posted
	StateSent          State = "sent"           // posting sent, answer awaited
	StatePosted        State = "posted"         // the PMS accepted it
	StateRefused       State = "refused"        // the PMS's final no
	StateInDoubt       State = "in-doubt"       // sent, answer never came; never re-sent automatically
	// StateResolving: sent, the answer was lost, and the PMS can prove what
	// happened (a lookup or idempotent link): the engine looks the posting
	// up by its reference or sends it again with the same key, each step an
	// event, until it is posted, refused or, past a limit, in doubt
	// (docs/posting-safety.md).
	StateResolving    State = "resolving"
	StatePostedByHand State = "posted-manually"
	StateReposted     State = "reposted" // by a person: back to the queue with a new posting number
	StateTransferred  State = "transferred"
	StateVoided       State = "voided"
	StateImported     State = "imported" // history loaded by `gateway import`: rated, never posted
)

// States lists every journal state in the order of docs/journal.md.
var States = []State{
	StateCaptured, StateRated, StateNotChargeable, StateException,
	StateQueued, StateSent, StatePosted, StateRefused, StateInDoubt,
	StateResolving, StatePostedByHand, StateReposted, StateTransferred, StateVoided, StateImported,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether no automatic process moves an entry on from s. Only a
// person can act on a final state (and only on exception, refused, in-doubt).
func (s State) Final() bool {
	switch s {
	case StateNotChargeable, StateException, StatePosted, StateRefused, StateInDoubt,
		StatePostedByHand, StateVoided, StateImported:
		return true
	}
	return false
}

// NeedsPerson reports whether entries in s wait for the night auditor.
func (s State) NeedsPerson() bool {
	return s == StateException || s == StateRefused || s == StateInDoubt
}

// transitions lists, for each state, the states the engine or a person may move
// an entry to.
//
// captured → not-chargeable is for a record that is no call (a page header, a
// summary line): its raw bytes were journaled before the parse could tell.
// reposted and transferred both go back to queued, to be sent under a new
// posting number:
// a transfer posts the charge to another room's folio, which only a posting
// can do.
var transitions = map[State][]State{
	StateCaptured: {StateRated, StateException, StateNotChargeable},
	StateRated:    {StateNotChargeable, StateException, StateQueued, StateImported},
	StateQueued:   {StateSent, StateException, StateVoided},
	StateSent:     {StatePosted, StateRefused, StateInDoubt, StateQueued, StateException, StateResolving},
	// resolving → resolving records a step that changes no state (a lookup
	// the PMS could not answer); → sent is the resend with the same
	// reference; → posted a lookup that found the charge.
	StateResolving:   {StateResolving, StateSent, StatePosted, StateInDoubt},
	StateException:   {StatePostedByHand, StateReposted, StateTransferred, StateVoided},
	StateRefused:     {StatePostedByHand, StateReposted, StateTransferred, StateVoided},
	StateInDoubt:     {StatePostedByHand, StateReposted, StateTransferred, StateVoided},
	StateReposted:    {StateQueued},
	StateTransferred: {StateQueued},
}

// CanMove reports whether an entry may move from state from to state to.
// StateSent → StateQueued is allowed only for a transient answer (the PMS said
// "busy, retry"), which the poster knows and the journal records as its reason;
// StateSent → StateException only for a cloud PMS that found the room vacant
// just before posting (PostVacant: nothing was sent).
func CanMove(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
