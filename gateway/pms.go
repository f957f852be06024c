package gateway

import (
	"context"
	"errors"
	"time"
)

// PostRequest is what the engine asks a PMS link to post: one priced call,
// charged to one room's folio. The engine builds it from the journal entry
// (call, charge, room) when the entry moves to StateSent.
type PostRequest struct {
	// Number is the posting number (FIAS P#), 1 to 99 999 999, from the
	// journal's persisted counter. It identifies this record on the wire: a
	// transient answer may be retried with the same number, a posting put
	// back in the queue by a person gets a new one.
	Number uint32
	// Room is the folio's room exactly as the PMS writes it (leading zeros
	// count).
	Room string
	// AmountMinor is the total the guest pays, in minor units of Currency.
	AmountMinor int64
	// Currency is the ISO 4217 code of AmountMinor; the link scales the
	// amount to the number of implied decimals its PMS expects.
	Currency string
	// Start is the call's local wall-clock start (its Location means
	// nothing, as in Call.Start). FIAS posts it as DA/TI.
	Start time.Time
	// DurationS is the call's connected seconds.
	DurationS int
	// Dialed is the number dialed; the link keeps its digits only.
	Dialed string
	// Class is the tariff's class of the call (local, national,
	// international, mobile, …); the link maps it to the PMS's call type.
	Class string
	// Trunk is the trunk or route the call used, as the PBX printed it.
	Trunk string
	// Destination is the destination's name for the folio line ("London",
	// "Mobile"); the link shortens and cleans it for the PMS.
	Destination string
	// Reference is the posting's own reference, given by the engine: stable
	// for the posting (the same on every try and every lookup), unique in
	// the property and never reused (a posting put back in the queue by a
	// person gets a new one with its new number). At most 40 characters of
	// [A-Za-z0-9-]. A lookup PMS stores it on the charge (OPERA Cloud
	// postingReference, Mews ExternalIdentifier); an idempotent PMS takes it
	// as the key (apaleo Idempotency-Key). FIAS ignores it: P# is its
	// reference. See docs/posting-safety.md.
	Reference string
	// FirstSent is when the posting first went to the PMS ("" time for a
	// first try). A lookup uses it to bound its search.
	FirstSent time.Time
}

// PostOutcome is how a posting ended, as far as the PMS link can tell.
type PostOutcome string

// The outcomes of PMSLink.Post. The link classifies; the engine decides
// what happens next (retries, journal states, exceptions).
const (
	// PostPosted: the PMS accepted the posting (FIAS AS OK). Journal: posted.
	PostPosted PostOutcome = "posted"
	// PostRefused: the PMS said no for good (FIAS NG, NP, UR, IA, FX, DN and
	// any answer it does not know). Answer and Text say why. Journal:
	// refused, for a person to resolve.
	PostRefused PostOutcome = "refused"
	// PostTransient: the posting was certainly not booked and may be sent
	// again later, with back-off: either it never left (Sent is false: the
	// link is down, not yet alive, resyncing, in the night audit, or ctx
	// ended first), or the PMS answered "not now" (FIAS RY retry, NA night
	// audit running). Journal: back to queued.
	PostTransient PostOutcome = "transient"
	// PostInDoubt: the posting was sent and no answer came — none within the
	// answer timeout, the link was lost while waiting, or the caller's ctx
	// ended while waiting. It may or may not be on the folio: it must never
	// be sent again automatically. Journal: in-doubt.
	PostInDoubt PostOutcome = "in-doubt"
	// PostInvalid: the request cannot be written as a posting (no room, a
	// number out of range, an amount the PMS's format cannot carry). It
	// was not sent and never will be as it is. Journal: exception.
	PostInvalid PostOutcome = "invalid"
	// PostVacant: a PMS without a guest-event stream (a cloud PMS) found no
	// in-house stay for the room when it resolved the reservation just
	// before posting: nothing was sent. Journal: the same "room vacant"
	// exception the engine makes from FIAS's guest events (unless the
	// policy posts to vacant rooms: then it is refused by the PMS's
	// answer in Text).
	PostVacant PostOutcome = "vacant"
)

// PostCapability is what a PMS protocol can prove about a posting whose
// answer was lost; the engine acts on it (docs/posting-safety.md).
type PostCapability string

// The capabilities a PMS link may declare.
const (
	// CapabilityBlind (FIAS): a lost answer leaves the posting in doubt,
	// for the night auditor; it is never sent again automatically.
	CapabilityBlind PostCapability = "blind"
	// CapabilityLookup (OPERA Cloud, Mews): after a grace period the engine
	// asks the PMS for the posting by its Reference (PostProver.Lookup);
	// found → posted, absent → sent again with the same Reference.
	CapabilityLookup PostCapability = "lookup"
	// CapabilityIdempotent (apaleo): the PMS books requests with the same
	// key at most once, so the engine sends the posting again with the
	// same Reference until a definite answer comes.
	CapabilityIdempotent PostCapability = "idempotent"
)

// PostProver is implemented by a PMS link that can prove more than FIAS
// about a posting whose answer was lost. A link that does not implement it
// is CapabilityBlind.
type PostProver interface {
	// Capability is the link's capability; constant for the link's life.
	Capability() PostCapability
	// Lookup asks the PMS whether a charge with p.Reference is booked
	// (CapabilityLookup only; others return an error of KindInvalid).
	// FirstSent bounds the search. The error is KindTransient when the
	// PMS could not be asked (link down, 5xx, timeout, rate limit): the
	// engine asks again later, up to its limit, then the posting goes to
	// the night auditor as in doubt.
	Lookup(ctx context.Context, p PostRequest) (LookupResult, error)
}

// LookupResult is what the PMS said about a posting's reference.
type LookupResult struct {
	// Found: the PMS holds a charge with the reference (the posting is
	// booked). False: certainly absent — the PMS was asked and answered.
	Found bool
	// Answer is the PMS's own id of the charge when found ("" if none).
	Answer string
	// Text is a short sentence for the journal and the console.
	Text string
	// At is when the PMS answered.
	At time.Time
}

// PostResult is the outcome of one PMSLink.Post call.
type PostResult struct {
	Outcome PostOutcome
	// Sent is whether the posting record went on the wire (always true for
	// posted, refused and in-doubt; false for invalid; either for transient).
	Sent bool
	// Answer is the PMS's answer code (FIAS AS: OK, NG, RY, …), "" if none.
	Answer string
	// Text is the PMS's clear text with the answer (FIAS CT), "" if none.
	Text string
	// Cause, for a transient outcome the PMS answered (Sent), says which of
	// the engine's waits applies before the next try: CauseBusy (FIAS RY)
	// or CauseNightAudit (FIAS NA). "" for every other outcome; a transient
	// answer without a cause is taken as busy. See docs/posting-safety.md.
	Cause TransientCause
	// At is when the outcome was decided.
	At time.Time
}

// TransientCause is why the PMS did not take a posting now.
type TransientCause string

// The causes of a transient answer.
const (
	// CauseBusy: the PMS is busy with the folio (FIAS RY). The same posting
	// is sent again after a wait that doubles while the PMS keeps
	// answering so (Engine.RetryMin to RetryMax).
	CauseBusy TransientCause = "busy"
	// CauseNightAudit: the PMS's night audit runs (FIAS NA). The poster
	// waits Engine.NightAuditPoll, or until the PMS signals the audit's
	// end (FIAS NE), whichever comes first.
	CauseNightAudit TransientCause = "night-audit"
)

// ErrInDoubt is wrapped by the error PMSLink.Post returns with outcome
// PostInDoubt: errors.Is(err, ErrInDoubt). Its kind is KindInternal, so
// that nothing retries it.
var ErrInDoubt = errors.New("posting in doubt: it may or may not be on the folio; check the folio before posting it again")

// LinkState is where a PMS link stands.
type LinkState string

// The states of a PMS link.
const (
	LinkDown       LinkState = "down"       // not connected; reconnecting with back-off
	LinkConnecting LinkState = "connecting" // opening the socket or port
	LinkStarting   LinkState = "starting"   // connected, link description sent or due, waiting for the PMS's go-ahead (FIAS LA)
	LinkAlive      LinkState = "alive"      // postings may flow
	LinkClosed     LinkState = "closed"     // Close was called; for good
)

// LinkStatus is a PMS link's state and what holds postings back.
type LinkStatus struct {
	State LinkState
	Since time.Time // when State was entered
	// Peer is the PMS's address or serial device.
	Peer string
	// Resync is set while a database resync runs (FIAS DR … DE): postings
	// wait.
	Resync bool
	// NightAudit is set between the PMS's night-audit start and end (FIAS
	// NS … NE): postings wait.
	NightAudit bool
	// Err is why the link last went down, "" if it did not.
	Err string
	// OversizeFrames counts the records the PMS sent that were longer than
	// the protocol allows and were dropped unread, since the link opened.
	OversizeFrames int64
}

// Ready reports whether a posting may be sent now: alive, no resync, no
// night audit.
func (s LinkStatus) Ready() bool {
	return s.State == LinkAlive && !s.Resync && !s.NightAudit
}

// PMSLink is the engine's connection to the PMS (FIAS: package pms/fias). It
// keeps itself connected (reconnecting with back-off), classifies what the
// PMS says, and delivers guest events; the engine decides retries and
// journal states. All methods are safe for concurrent use.
//
// The engine's posting loop is: WaitReady; journal the entry as sent (alone,
// or in one commit with the entry's queueing or the previous posting's
// outcome); Post; journal the outcome. Journaling before Post means a
// gateway killed while a posting is on the wire leaves it sent, which the
// engine resolves as in doubt at start-up.
type PMSLink interface {
	// Post sends one posting and waits for the PMS's answer, and returns
	// its outcome. The result's Outcome is authoritative; the error is nil
	// for PostPosted and otherwise a plain sentence for the log and the
	// console, classified:
	//
	//   - PostRefused: KindRejected, with the PMS's answer code and text.
	//   - PostTransient: KindTransient (link not ready, RY, NA).
	//   - PostInDoubt: wraps ErrInDoubt, KindInternal (never retry).
	//   - PostInvalid: KindInvalid.
	//
	// One posting is outstanding at a time: a Post made while another waits
	// for its answer blocks until that one is settled (or ctx ends: then it
	// returns PostTransient, not sent). Post does not wait for the link to
	// be ready; when it is not, it returns PostTransient at once, not sent.
	// A posting answered after it was declared in doubt stays in doubt (the
	// late answer is logged).
	Post(ctx context.Context, p PostRequest) (PostResult, error)

	// WaitReady blocks until the link is ready for a posting (alive, no
	// resync, no night audit) or ctx ends (then it returns ctx.Err()).
	WaitReady(ctx context.Context) error

	// Status returns the link's current state.
	Status() LinkStatus

	// StatusChanges delivers the link's status each time it changes. It
	// never blocks the link: a reader that falls behind gets the latest
	// status, not every one in between. It is closed after Close.
	StatusChanges() <-chan LinkStatus

	// GuestEvents delivers guest events (check-in, change, check-out),
	// resync brackets and night-audit brackets, in the order the PMS sent
	// them, none dropped while the link runs. The engine must keep reading
	// it, also while Close runs: Close delivers the events received before
	// it, dropping (and logging) those nobody takes within a moment, then
	// closes the channel.
	GuestEvents() <-chan GuestEvent

	// Resync asks the PMS for its whole guest database (FIAS DR). Call it
	// when a person asks, or when the local guest table is empty — never
	// at every start. It returns once the request is sent; the data arrives
	// on GuestEvents between ResyncStart and ResyncEnd, and no posting is
	// sent meanwhile. It fails with KindTransient when the link is not
	// alive or a resync already runs.
	Resync(ctx context.Context) error

	// Close ends the link in order (FIAS LE, waiting briefly for the PMS's
	// LE) and releases the socket or port. A posting waiting for its
	// answer ends in doubt. Close is idempotent.
	Close() error
}
