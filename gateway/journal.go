package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"time"
	"unicode/utf8"
)

// The journal is the gateway's memory and its proof (docs/journal.md "The journal is
// an event log"): one append-only log of events, and projections of it (each
// entry's current state, the queues, the indices) updated in the same
// transaction as the event that changes them. Package store implements the
// three interfaces below on bbolt.
//
// Three interfaces, by who uses them:
//
//   - Journal: what the engine writes — raw records first, then every step of
//     their way to a folio, guest events from the PMS, audit records — and
//     the daily tidy-up.
//   - Queries: what the engine, the console and the reports read.
//   - Users: the console's accounts (storage only).
//
// Every method takes a context, is safe for concurrent use, and returns
// errors of the kinds in error.go: KindInvalid for a request that breaks a
// rule (nothing is changed), KindNotFound for an entry or user that does not
// exist, KindTransient for a condition that passes by itself, KindInternal
// for a failing disk or a damaged file. Every change is committed to disk
// (fsync) before the method returns.

// EntryID names one journal entry: a counter from 1 with no gaps, never
// reused, in the order the records were read.
type EntryID uint64

// Journal is the write side of the journal, as the engine uses it.
type Journal interface {
	// Capture journals a raw record as it came from the PBX, before anything
	// else happens to it, and returns the new entry, in state captured.
	//
	// If the same bytes were captured before within the replay window (a
	// PBX replaying its buffer on reconnect), nothing new is journaled: the
	// replay is counted on the earlier entry and Captured.Replay is set, with
	// ID naming that earlier entry. The engine then drops the record.
	//
	// Outcomes: a new entry; a replay of an existing one; KindInvalid for a
	// record with no bytes; KindInternal when the disk fails (the record is
	// then not journaled and must not be processed).
	Capture(ctx context.Context, rec RawRecord) (Captured, error)

	// CaptureAll journals raw records in one transaction (one commit, one
	// fsync), each with the moves the engine decided for it in memory: the
	// rating and the decision (docs/journal.md "Commits"). Each record is
	// captured as Capture captures it — its captured event first, or a
	// replay of an earlier entry, also of one earlier in the same batch —
	// and a new entry then makes its Moves, in order, each its own event
	// checked as Move checks it. Moves are not made for a replay.
	//
	// Send, on a capture whose last move queues a posting, also moves it
	// to sent (with its posting number) in the same transaction when
	// nothing else is queued or sent (as Change.Alone); when that cannot
	// be, the entry stays queued and Captured.Sent is nil.
	//
	// Outcomes: one Captured per record, in order; KindInvalid naming the
	// first record with no bytes or whose moves break a rule, or
	// KindInternal when the disk fails, and then nothing of the batch is
	// journaled; no records, nothing and no error.
	CaptureAll(ctx context.Context, cs []Capture) ([]Captured, error)

	// Move moves an entry to another state and records the facts that come
	// with the move (the parse, the rating, the room, the PMS's answer), as
	// one event in one transaction (MoveAll puts several moves in one). It
	// returns the entry as it now is, without its History (Queries.Entry has
	// it).
	//
	// The move must be one CanMove allows; what else it needs:
	//
	//   - captured → rated: Change.Call and Change.Charge. captured →
	//     exception or not-chargeable may carry the Call (and Charge) when
	//     there is one; → exception needs a Reason.
	//   - rated → queued: a Room (in the change, or set before) and a charge
	//     with a total above zero. No posting number yet.
	//   - queued → sent: nothing; Entry.Sent is set. An entry without a
	//     posting number gets one (Entry.Posting) from the journal's
	//     counter, never one held by another unresolved entry: numbers are
	//     given in sending order (docs/journal.md "Posting numbers").
	//   - sent → posted, refused: the PMS's Answer (refused: or a Reason).
	//     sent → queued (the PMS said "busy, retry"): the Answer; the
	//     posting number is kept. sent → in-doubt, → resolving (the
	//     answer lost on a lookup or idempotent link), → exception (a
	//     cloud PMS found the room vacant): a Reason. Out of resolving
	//     (to resolving again, sent, posted, in-doubt): a Reason, and the
	//     PMS's Answer may come with posted; the number is kept.
	//   - A person's move (from exception, refused or in-doubt, or to
	//     posted-manually, reposted, transferred, voided) needs Actor and
	//     Reason, and may carry a new Charge (re-rated). reposted and
	//     transferred go on to queued in the same transaction, without
	//     their number (a new one comes with the sending); transferred needs
	//     the new Room.
	//
	// A posting number is held from the entry's sending while it is sent,
	// queued again after "not now", in doubt, refused or in exception, and
	// released when the entry is posted (by the PMS or by hand), voided, or
	// queued again by a person.
	//
	// Outcomes: the moved entry; KindNotFound for an unknown id; KindInvalid
	// for a move CanMove forbids or a change missing what the move needs (the
	// entry is unchanged); KindTransient, on a move to sent, when every
	// posting number up to the configured maximum is held (resolving entries
	// frees numbers).
	Move(ctx context.Context, id EntryID, c Change) (Entry, error)

	// MoveAll makes several moves in one transaction, in order, all or
	// nothing: each is checked as Move checks it, against the entry as the
	// moves before it in the batch left it, and each is its own event in the
	// log, exactly as if Move had made them one after the other — only the
	// commit (and its fsync) is shared. The moves may be of one entry (rated
	// → queued → sent) or of several (the PMS's answer to one posting and the
	// sending of the next). It returns the entry as the last move left it,
	// without its History: the one the caller goes on with (Queries.Entry
	// has the others).
	//
	// Outcomes: the last moved entry; for the first move that fails, Move's
	// error for it (KindNotFound, KindInvalid, KindTransient), and then
	// nothing of the batch is journaled; no moves, nothing and no error.
	MoveAll(ctx context.Context, moves []Move) (Entry, error)

	// Import journals history read from files (`gateway import`), many
	// records in one transaction: each becomes an entry in state imported,
	// never posted. A record with the same raw bytes and start as an entry
	// already in the journal (imported, or captured and parsed) is skipped
	// and counted as a duplicate, so importing the same file twice adds
	// nothing. Imported records are not in the replay index.
	//
	// Outcomes: the new ids; KindInvalid naming the first bad record (no raw
	// bytes, no call), in which case nothing of the batch is journaled.
	Import(ctx context.Context, recs []ImportRecord) (Imported, error)

	// ApplyGuest records a guest or link event from the PMS (FIAS GI, GO, GC,
	// resync, night audit) and updates the rooms it touches. It is
	// idempotent: an event that changes nothing (a repeated GI) records
	// nothing and returns false. Check-in and change with OldRoom handle room
	// moves and sharers; a check-out without a reservation number empties
	// the room; a resync's end removes the reservations the PMS did not
	// resend. Guest names are kept in the guest records, never in the event.
	//
	// Outcomes: whether anything changed; KindInvalid for an event of
	// unknown kind or without the room it needs.
	ApplyGuest(ctx context.Context, ev GuestEvent) (bool, error)

	// Audit appends a record to the audit log: a configuration or tariff
	// change, a user's creation, a login lockout. Manual moves of entries are
	// audited by Move itself.
	//
	// Outcomes: nil; KindInvalid without Actor or Action.
	Audit(ctx context.Context, a AuditRecord) error

	// Tidy does the journal's time-based housekeeping; the engine calls it
	// once a day. It erases the names of guests who checked out more than the
	// configured days ago, forgets replay digests older than the replay
	// window, and, if a retention is configured, prunes closed entries older
	// than it together with their events.
	Tidy(ctx context.Context) (Tidied, error)

	// ShipCursor returns the central's acknowledged cursor for the
	// journal's epoch, as the shipper last persisted it (docs/central.md,
	// "The property's side"): every event up to Cursor is held by the
	// central. Epoch is always the journal's; Cursor is 0 when nothing
	// was acknowledged.
	ShipCursor(ctx context.Context) (ShipAck, error)

	// SetShipCursor persists the central's answer: one small commit of its
	// own, off the engine's path, after each acknowledged batch. The cursor
	// may go down (a central restored from a backup holds less).
	//
	// Outcomes: nil; KindInvalid for another epoch than the journal's or a
	// cursor above its last event.
	SetShipCursor(ctx context.Context, a ShipAck) error
}

// Queries is the read side of the journal: the engine's queues, the console's
// lists and the reports. Every query is one short read transaction; readers
// never wait for writers.
type Queries interface {
	// Entry returns one entry with its history.
	// Outcomes: the entry; KindNotFound.
	Entry(ctx context.Context, id EntryID) (Entry, error)

	// Entries returns the entries that match every field set in f, ordered by
	// entry time (call start, or the time read before a parse), then id —
	// newest first with f.Newest. It reads indices, never the whole journal:
	// by posting number, room, extension, state or time, whichever f names
	// first in that order.
	//
	// Outcomes: the entries (none is not an error); KindInvalid for an
	// unknown state or a To before From.
	Entries(ctx context.Context, f Filter) ([]Entry, error)

	// EachPage calls fn with every entry that matches f, in the order of
	// Entries, a page of f.Limit entries at a time (20,000 when Limit is
	// 0), each page read in one short read transaction: for listings too
	// long to hold at once, like a month's calls for a report. Pages are
	// read after one another, as Entries with After would read them.
	//
	// fn runs between transactions and may call the journal. The page and
	// what its entries point to (Raw.Data, Call, Charge, History) are
	// reused for the next page: fn copies what it keeps beyond its call
	// (strings may be kept), and may change the page. An error from fn
	// ends the listing and is returned.
	//
	// Outcomes: as Entries; fn's error.
	EachPage(ctx context.Context, f Filter, fn func([]Entry) error) error

	// Counts returns how many entries are in each state, from one snapshot.
	Counts(ctx context.Context) (Counts, error)

	// Totals returns the running totals of the entries whose entry time is
	// in [from, to), both rounded down to the quarter hour (TotalsSlot, a
	// whole number of minutes of every time zone in use): how many entries,
	// and by charge class and currency the chargeable calls and the revenue
	// posted, as Tally counts them. It reads a projection kept per quarter
	// hour (docs/journal.md "Projections"), never the entries: a day costs
	// 96 slots whatever its traffic.
	//
	// Outcomes: the totals; KindInvalid for to before from or a range
	// longer than TotalsMaxRange.
	Totals(ctx context.Context, from, to time.Time) (Totals, error)

	// Guests returns the reservations staying in room, with their names
	// where they have not been erased; room "" returns every room's, ordered
	// by room. An empty room returns none.
	Guests(ctx context.Context, room string) ([]Guest, error)

	// GuestsPage returns one page of the rooms in house, for lists that
	// must not load the whole hotel: the guests (as Guests gives them) of
	// at most rooms occupied rooms, in room order, starting at the first
	// room not before from ("" for the first page).
	// Outcomes: the page; KindInvalid for rooms < 1.
	GuestsPage(ctx context.Context, from string, rooms int) (GuestPage, error)

	// Events returns events in sequence order: the log itself, for audits,
	// debugging and shipping to a central server by (epoch, seq).
	// Outcomes: the events; KindInvalid for a bad filter.
	Events(ctx context.Context, f EventFilter) ([]Event, error)

	// Info describes the journal: its epoch, schema, last sequence number.
	Info(ctx context.Context) (JournalInfo, error)

	// Backup writes a consistent copy of the whole journal file to w while
	// the gateway keeps running (writers are not blocked), and returns the
	// bytes written. The copy reads as a journal with the same epoch; put
	// back in place and opened for writing, it starts a new epoch
	// (docs/journal.md, "Epochs").
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// GuestPage is one page of the rooms in house (Queries.GuestsPage).
type GuestPage struct {
	Guests []Guest // the page's rooms' guests, by room
	// Next is the first room of the next page, "" on the last page.
	Next string
	// Rooms is the number of occupied rooms in the whole hotel.
	Rooms int
}

// Users stores the console's accounts. It stores; it does not decide: the
// console hashes passwords (bcrypt) and API tokens, counts failed logins and
// sets lockouts.
type Users interface {
	// User returns the user called name. Outcomes: the user; KindNotFound.
	User(ctx context.Context, name string) (User, error)
	// UserByToken returns the user holding the API token whose hash is
	// given. Outcomes: the user; KindNotFound.
	UserByToken(ctx context.Context, tokenHash []byte) (User, error)
	// Users returns every user, ordered by name.
	Users(ctx context.Context) ([]User, error)
	// PutUser creates u or replaces the user of that name. Outcomes: nil;
	// KindInvalid for an empty name or role, or a token hash another user
	// holds.
	PutUser(ctx context.Context, u User) error
	// UpdateUser changes the user called name in one transaction: fn gets
	// the stored user and changes it; an error from fn changes nothing and
	// is returned. fn must not call the journal. Outcomes: the stored user;
	// KindNotFound; KindInvalid as PutUser; fn's error.
	UpdateUser(ctx context.Context, name string, fn func(*User) error) (User, error)
	// DeleteUser removes the user called name. Outcomes: nil; KindNotFound.
	DeleteUser(ctx context.Context, name string) error
}

// Captured is what Capture did with a raw record.
type Captured struct {
	ID EntryID // the new entry or, for a replay, the entry first captured with these bytes
	// Replay is set when the record repeats one captured within the replay
	// window: nothing new was journaled.
	Replay bool
	// Sent is the entry as CaptureAll left it when it also moved the
	// posting to sent (Capture.Send), without its History; nil otherwise.
	Sent *Entry
}

// Capture is a raw record and the moves the engine decided for it before it
// was journaled, for Journal.CaptureAll.
type Capture struct {
	Rec RawRecord
	// Moves take the new entry on from captured, in order: to rated, then
	// to the decision (not chargeable, exception, queued); or straight to
	// not chargeable or exception for a record that is no call or cannot
	// be read. None leaves it captured.
	Moves []Change
	// Send asks for the queued posting's move to sent in the same
	// transaction, when nothing else is queued or sent.
	Send bool
}

// Change is a move of an entry to another state, with the facts that come
// with it. Which fields a move needs is documented at Journal.Move.
type Change struct {
	To     State
	Actor  string // the person who decided it; "" for the gateway itself
	Reason string // why, in words (for exception, in-doubt, and every person's move)
	Call   *Call  // the parse, on a move out of captured
	Charge *Charge
	// Room is the room (folio) charged: set when the engine resolves the
	// extension, or by a person transferring the charge.
	Room string
	// Reservation is the PMS's reservation number (FIAS G#) of the guest
	// charged, when known.
	Reservation string
	Answer      *Answer // the PMS's answer, on a move out of sent
	// Alone, on a move to sent, makes the move fail with KindTransient,
	// changing nothing, when another entry is queued or sent, judged in the
	// same transaction: the engine's direct send of a posting it has just
	// queued, which must not overtake an older posting (a person may queue
	// one again at any moment) nor make a second one outstanding.
	Alone bool
}

// Move is one move of a batch for Journal.MoveAll: entry ID, moved as the
// Change says.
type Move struct {
	ID EntryID
	Change
}

// Answer is the PMS's answer to a posting (FIAS PA).
type Answer struct {
	Code string    // FIAS AS: OK, NG, RY, UR, …
	Text string    // FIAS CT: the PMS's clear text, "" if none
	Time time.Time // when it came (UTC); set by the journal
}

// Entry is one record read from the PBX and everything that happened to it.
type Entry struct {
	ID    EntryID
	State State
	// Time orders the journal: the call's start (UTC) once parsed, the time
	// the record was read before.
	Time        time.Time
	Raw         RawRecord // the bytes as read, with when and where
	Call        *Call     // nil until parsed (and for unparseable records)
	Charge      *Charge   // nil until rated
	Room        string    // the room charged, "" until resolved
	Reservation string    // the guest's reservation number, "" if unknown
	Posting     uint32    // the current FIAS posting number, 0 if none
	Sent        time.Time // when the posting was last sent (UTC), zero if never
	Answer      *Answer   // the PMS's last answer, nil if none
	Replays     int       // replays of the raw record that were dropped
	Updated     time.Time // the time of the entry's last event (UTC)
	// History is every state change, oldest first: from Entry, and from
	// Entries with Filter.History.
	History []StateChange
}

// StateChange is one line of an entry's history.
type StateChange struct {
	Seq    uint64    // the event that made it
	Time   time.Time // UTC
	Local  time.Time // the site's wall clock at that instant (Location UTC, meaning nothing)
	From   State     // "" for the entry's creation
	To     State
	Actor  string // "" for the gateway
	Reason string
}

// ImportRecord is one historical call for Journal.Import.
type ImportRecord struct {
	Raw    RawRecord
	Call   *Call   // required
	Charge *Charge // nil when the history was not rated
	Room   string  // the room it was charged to, "" if unknown
}

// Imported is what Import did.
type Imported struct {
	IDs        []EntryID // one per record, in order; 0 for a duplicate
	Duplicates int
}

// AuditRecord is one line of the audit log that is not a move of an entry.
type AuditRecord struct {
	Actor  string // who: a console user, or "gateway" for the program itself
	Action string // what, a short verb phrase: "config-change", "tariff-change", "user-add", …
	Reason string
	// Detail says what changed, as key/value text. Never secrets, password
	// hashes or guest names.
	Detail map[string]string
}

// Tidied reports what Tidy did.
type Tidied struct {
	NamesErased    int // guest records whose names were erased
	DigestsExpired int // replay digests forgotten
	Pruned         Pruned
}

// Pruned reports a retention run: closed entries older than Before removed
// with their events (or, in a dry run, what would be).
type Pruned struct {
	Before  time.Time
	Entries int
	Events  int
	DryRun  bool
	// Held is set when a central is configured (docs/central.md, "Prune
	// guard"): only events the central acknowledged are removed, and not
	// the one at its cursor (the next batch chains from its hash).
	// ShipCursor is its cursor; HeldEntries and HeldEvents count the
	// closed entries older than Before kept for the central.
	Held        bool
	ShipCursor  uint64
	HeldEntries int
	HeldEvents  int
}

// Filter selects entries for Queries.Entries. Zero fields select everything.
type Filter struct {
	From, To  time.Time // entry time in [From, To)
	States    []State
	Room      string
	Extension string
	Posting   uint32
	// After continues a listing after this entry (the last of the previous
	// page), in the same order.
	After   EntryID
	Limit   int  // at most this many; 0 for all
	Newest  bool // newest first
	History bool // fill Entry.History
}

// TotalsSlot is the step of Queries.Totals: its running totals are kept per
// quarter hour of entry time (UTC), so that a day in any zone is whole slots.
const TotalsSlot = 15 * time.Minute

// TotalsMaxRange is the longest range Queries.Totals sums.
const TotalsMaxRange = 31 * 24 * time.Hour

// Totals are the running totals of a time range (Queries.Totals).
type Totals struct {
	Entries int64        // every entry whose entry time is in the range, in any state
	Classes []ClassTotal // by class, then currency; only pairs with a call
}

// ClassTotal is one charge class's calls and revenue in one currency.
type ClassTotal struct {
	Class, Currency string
	Calls           int64 // chargeable calls: a postable charge, not voided
	RevenueMinor    int64 // of those, the totals posted by the PMS or by hand
}

// Tally says what an entry in state s with charge c adds to Totals under
// its charge's class and currency: whether it is a chargeable call (a
// postable charge, not voided) and the revenue it brings (its total once
// posted by the PMS or by hand). Store and fakes count with it.
func Tally(s State, c *Charge) (call bool, revenueMinor int64) {
	if c == nil || !c.Postable() || s == StateVoided {
		return false, 0
	}
	if s == StatePosted || s == StatePostedByHand {
		return true, c.TotalMinor
	}
	return true, 0
}

// Counts is how many entries are in each state.
type Counts struct {
	States  map[State]int64
	Entries int64 // entries journaled and not pruned
	Replays int64 // replayed records dropped, ever
}

// EventKind says what an event records.
type EventKind string

// The kinds of event.
const (
	EventCaptured EventKind = "captured" // a raw record read; creates an entry
	EventReplayed EventKind = "replayed" // a replay of an entry's record, dropped
	EventMoved    EventKind = "moved"    // a state change, with the facts it brings
	EventImported EventKind = "imported" // a historical record; creates an entry in state imported
	EventGuest    EventKind = "guest"    // a guest or link event from the PMS
	EventAudit    EventKind = "audit"    // an audit record
	EventPruned   EventKind = "pruned"   // a retention run removed older events
)

// Event is one fact in the journal's log. Events are never rewritten.
type Event struct {
	Seq    uint64 // from 1, no gaps, never reused
	Entry  EntryID
	Kind   EventKind
	Time   time.Time // UTC
	Local  time.Time // the site's wall clock (Location UTC, meaning nothing)
	Actor  string
	Reason string
	From   State
	To     State
	// Data holds the facts of the event as JSON: the raw record, the call,
	// the charge, the room, the answer, the guest event without names, the
	// audit detail.
	Data json.RawMessage
	// Hash is SHA-256 over the previous event's hash and this event's stored
	// form, chaining the log to its epoch: changing, removing or reordering
	// an event breaks every hash after it.
	Hash [32]byte
	// Body is the event's stored form exactly as Hash covers it (the
	// journal's JSON object for the event: seq, entry, kind, time,
	// time_utc, actor, reason, from, to, data). Filled by Queries.Events
	// for shipping, so that the central can check the chain
	// (docs/central.md); nil where a journal does not keep it.
	Body json.RawMessage
	// Sealed marks a guest event shipped without its body: an event
	// written before journal schema 4 holds the guest's personal data, and
	// a property that does not ship guest data sends its Hash and its Data
	// without that data (gateway.SealGuestData); the central trusts the
	// hash for that one link (docs/central.md, "Guest data").
	Sealed bool
}

// EventFilter selects events for Queries.Events.
type EventFilter struct {
	Since uint64  // events after this sequence number
	Entry EntryID // only this entry's events
	Audit bool    // only the audit log: audit records and persons' moves
	Limit int     // at most this many; 0 for all
}

// JournalInfo describes a journal.
type JournalInfo struct {
	// Epoch is a UUID written when the file was created, and again when
	// a writable open finds the file replaced (a backup copied in place, a
	// move to another disk): docs/journal.md, "Epochs".
	Epoch string
	// ChainEpoch is the epoch whose genesis the hash chain starts from:
	// the file's first epoch (Epoch unless the file was replaced).
	ChainEpoch string
	// Follows is the epoch this one follows when the file was replaced
	// (the copy's epoch), FollowsEntry and FollowsSeq its last entry and
	// event in the copy; empty for a file's first epoch.
	Follows                  string
	FollowsEntry, FollowsSeq uint64
	Schema                   int
	Created                  time.Time
	LastSeq                  uint64
	Entries                  uint64 // the last entry id given
	Posting                  uint32 // the last posting number given
	// PostingEpochs names the epoch of the postings numbered before the
	// file was replaced and still unsettled then: their references keep
	// the epoch they were sent under, so that a lookup or an idempotent
	// resend after a restore finds what the PMS holds (docs/journal.md,
	// "Epochs"). Every other posting's reference names Epoch.
	PostingEpochs PostingEpochs
	// ResyncOpen: a guest resync began and has not ended (the gateway was
	// stopped or killed during it), so the guests held may be only part of
	// the house.
	ResyncOpen bool
	// SealableUpto is the last event written before the journal was
	// upgraded to schema 4 (guest events up to it may hold the guest's
	// personal data and may be shipped sealed); 0 for a journal created
	// at schema 4 (docs/central.md, "Guest data").
	SealableUpto uint64
	// Ancestry is every epoch this one descends from, the oldest first
	// and the one it follows (Follows) last: a file restored from a
	// backup that was itself a restored or compacted copy has more than
	// one (docs/journal.md, "Epochs"). Empty for a file's first epoch.
	Ancestry []EpochAncestor
}

// EpochAncestor is an epoch a journal file descends from: its name, and
// its last entry and last event when the copy that began the next epoch
// was taken (entries 1 to Entry and events 1 to Seq are the same in both).
type EpochAncestor struct {
	Epoch string
	Entry uint64
	Seq   uint64
}

// User is a console account.
type User struct {
	Name         string
	Role         string // the console defines the roles
	PasswordHash []byte // bcrypt
	// FailedLogins and LockedUntil are kept from the per-user lockout of
	// old: the console neither writes nor honours them (it backs off
	// failed logins per address and name, docs/console-security.md); a new
	// password clears them.
	FailedLogins int
	LockedUntil  time.Time
	// Disabled refuses every login and API token of the user, for good
	// (until an admin sets a new password).
	Disabled bool
	Tokens   []Token
	Created  time.Time
	Updated  time.Time
}

// Token is an API token of a user, kept as a hash.
type Token struct {
	Hash    []byte
	Label   string
	Created time.Time
}

// rawJSON writes raw bytes as a JSON string when they are UTF-8 and as
// base64 (under the key raw_base64) when they are not, so that no byte is
// lost.
func rawJSON(b []byte) (key string, val any) {
	if utf8.Valid(b) {
		return "raw", string(b)
	}
	return "raw_base64", base64.StdEncoding.EncodeToString(b)
}

func utcString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// MarshalJSON writes the entry as `gateway journal` prints it: one object
// with id, state, raw record, call, charge, room, posting number, PMS answer
// and history; absent facts are null.
func (e Entry) MarshalJSON() ([]byte, error) {
	type answer struct {
		Code string  `json:"code"`
		Text *string `json:"text"`
		Time *string `json:"time_utc"`
	}
	type change struct {
		Seq    uint64  `json:"seq"`
		Time   string  `json:"time"`
		TimeU  *string `json:"time_utc"`
		From   *string `json:"from"`
		To     State   `json:"to"`
		Actor  *string `json:"actor"`
		Reason *string `json:"reason"`
	}
	m := []kv{
		{"id", e.ID},
		{"state", e.State},
		{"time_utc", utcString(e.Time)},
	}
	k, v := rawJSON(e.Raw.Data)
	m = append(m, kv{k, v},
		kv{"received_utc", utcString(e.Raw.Received)},
		kv{"source", optional(e.Raw.Source)},
		kv{"truncated", e.Raw.Truncated},
		kv{"call", e.Call},
		kv{"charge", e.Charge},
		kv{"room", optional(e.Room)},
		kv{"reservation", optional(e.Reservation)},
	)
	var posting *uint32
	if e.Posting != 0 {
		posting = &e.Posting
	}
	var ans *answer
	if e.Answer != nil {
		ans = &answer{e.Answer.Code, optional(e.Answer.Text), utcString(e.Answer.Time)}
	}
	hist := make([]change, len(e.History))
	for i, h := range e.History {
		hist[i] = change{h.Seq, h.Local.Format(WallClockLayout), utcString(h.Time), optional(string(h.From)), h.To, optional(h.Actor), optional(h.Reason)}
	}
	m = append(m,
		kv{"posting", posting},
		kv{"sent_utc", utcString(e.Sent)},
		kv{"answer", ans},
		kv{"replays", e.Replays},
		kv{"updated_utc", utcString(e.Updated)},
		kv{"history", hist},
	)
	return marshalOrdered(m)
}

// kv is one key of a JSON object written in a fixed order.
type kv struct {
	k string
	v any
}

func marshalOrdered(m []kv) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, p := range m {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(p.k); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		if err := enc.Encode(p.v); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
