package gateway

import "time"

// Guest is one reservation staying in a room, as the PMS reported it (FIAS
// GI/GC). A room may hold several (sharers). Names are personal data: they
// are kept in the journal's guest records, never in its events, and erased a
// configured number of days after check-out.
type Guest struct {
	Room        string    // RN: room number as the PMS writes it (leading zeros count)
	Reservation string    // G#: reservation number; "" for room-based PMSs
	Shared      bool      // GS: the room is (now) shared
	LastName    string    // GN
	FirstName   string    // GF
	Title       string    // GT
	Language    string    // GL
	VIP         string    // GV
	Group       string    // GG
	Arrival     time.Time // GA: date only; zero when not sent
	Departure   time.Time // GD: date only; zero when not sent
	// NoPost is the PMS's No-Post flag (NP). It is informational: OPERA
	// refuses postings to such a reservation itself; the gateway keeps the
	// flag to explain refusals and to warn in the console.
	NoPost bool
	// ClassOfService is CS: 0 barred/internal, 1 local, 2 national,
	// 3 unrestricted; "" when not sent.
	ClassOfService string
}

// GuestEventKind says what a guest event does.
type GuestEventKind string

// The guest events a PMS link delivers.
const (
	GuestCheckIn  GuestEventKind = "check-in"  // GI: a reservation arrives in a room
	GuestChange   GuestEventKind = "change"    // GC: data changes, or a room move (OldRoom set)
	GuestCheckOut GuestEventKind = "check-out" // GO: a reservation (or, without G#, the room) leaves
	ResyncStart   GuestEventKind = "resync-start"
	ResyncEnd     GuestEventKind = "resync-end"
	// NightAuditStart and NightAuditEnd (FIAS NS/NE) bracket the PMS's night
	// audit: postings wait until it ends.
	NightAuditStart GuestEventKind = "night-audit-start"
	NightAuditEnd   GuestEventKind = "night-audit-end"
)

// GuestEvent is one guest or link event from the PMS, in the order the PMS
// sent it. Applying the same event twice must change nothing (PMSs repeat
// GIs after a hiccup).
type GuestEvent struct {
	Kind  GuestEventKind
	Guest Guest // for check-in, change, check-out: the fields the PMS sent
	// Fields lists the FIAS field ids present in the record ("GN", "CS", …):
	// a GC, or a GI during a resync, changes only the fields it carries.
	Fields []string
	// OldRoom is the room a guest moved from (GC with RO); OldRoomShared is
	// whether that room is still shared after the move (the second GS).
	OldRoom       string
	OldRoomShared bool
	// Resync is set on GI/GO sent as part of a database resync (FIAS SF).
	Resync bool
	// Partial is set on a ResyncEnd when the resync did not end with the
	// PMS's end mark (FIAS DE) but timed out, or the link was lost: guests
	// the resync did not mention must not be taken as checked out.
	Partial bool
	// Time is when the PMS says the event happened (DA/TI), wall clock.
	Time time.Time
}
