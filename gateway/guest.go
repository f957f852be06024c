package gateway

import "time"

// Guest is one reservation staying in a room, as the PMS reported it (a
// check-in or a change). A room may hold several (sharers). Names are
// personal data: they are kept in the journal's guest records, never in its
// events, and erased a configured number of days after check-out. Which of
// a PMS's fields fill which of these is the PMS link's business (pms/fias
// for FIAS).
type Guest struct {
	Room        string    // room number as the PMS writes it (leading zeros count)
	Reservation string    // reservation number; "" for room-based PMSs
	Shared      bool      // the room is (now) shared
	LastName    string    // personal data, as the three names below
	FirstName   string    // personal data
	Title       string    // personal data: Mr, Ms, Dr, …
	Language    string    // the guest's language code, as the PMS writes it
	VIP         string    // VIP status, as the PMS writes it
	Group       string    // group or block code
	Arrival     time.Time // date only; zero when not sent
	Departure   time.Time // date only; zero when not sent
	// NoPost is the PMS's No-Post flag. It is informational: OPERA refuses
	// postings to such a reservation itself; the gateway keeps the flag to
	// explain refusals and to warn in the console.
	NoPost bool
	// ClassOfService is the telephone class: 0 barred/internal, 1 local,
	// 2 national, 3 unrestricted; "" when not sent.
	ClassOfService string
}

// GuestFields is a set of a Guest's data fields: which ones a guest event
// carries. Room and Reservation name the guest and are not in it.
type GuestFields uint16

// The guest fields, one bit each.
const (
	FieldShared         GuestFields = 1 << iota // Guest.Shared
	FieldLastName                               // Guest.LastName
	FieldFirstName                              // Guest.FirstName
	FieldTitle                                  // Guest.Title
	FieldLanguage                               // Guest.Language
	FieldVIP                                    // Guest.VIP
	FieldGroup                                  // Guest.Group
	FieldArrival                                // Guest.Arrival
	FieldDeparture                              // Guest.Departure
	FieldNoPost                                 // Guest.NoPost
	FieldClassOfService                         // Guest.ClassOfService

	// AllGuestFields is every guest field.
	AllGuestFields = FieldClassOfService<<1 - 1
	// FieldNames is the fields that hold the guest's names, personal data.
	FieldNames = FieldLastName | FieldFirstName | FieldTitle
)

// Has reports whether s holds any of the fields in f.
func (s GuestFields) Has(f GuestFields) bool { return s&f != 0 }

// Others returns the guest fields not in s: an event carrying only s omits
// s.Others().
func (s GuestFields) Others() GuestFields { return AllGuestFields &^ s }

// Carried returns the guest fields the event carries: every field but the
// omitted ones.
func (ev GuestEvent) Carried() GuestFields { return AllGuestFields &^ ev.Omitted }

// GuestEventKind says what a guest event does.
type GuestEventKind string

// The guest events a PMS link delivers.
const (
	GuestCheckIn  GuestEventKind = "check-in"  // a reservation arrives in a room
	GuestChange   GuestEventKind = "change"    // data changes, or a room move (OldRoom set)
	GuestCheckOut GuestEventKind = "check-out" // a reservation (or, without its number, the room) leaves
	ResyncStart   GuestEventKind = "resync-start"
	ResyncEnd     GuestEventKind = "resync-end"
	// NightAuditStart and NightAuditEnd bracket the PMS's night
	// audit: postings wait until it ends.
	NightAuditStart GuestEventKind = "night-audit-start"
	NightAuditEnd   GuestEventKind = "night-audit-end"
)

// GuestEvent is one guest or link event from the PMS, in the order the PMS
// sent it. Applying the same event twice must change nothing (PMSs repeat
// check-ins after a hiccup).
type GuestEvent struct {
	Kind  GuestEventKind
	Guest Guest // for check-in, change, check-out: the fields the PMS sent
	// Omitted is the guest fields the PMS did not send: a change, or a
	// check-in during a resync, changes only the fields it carries (see
	// Carried). Zero, the usual check-in, carries every field.
	Omitted GuestFields
	// OldRoom is the room a guest moved from (a change that is a room move);
	// OldRoomShared is whether that room is still shared after the move.
	OldRoom       string
	OldRoomShared bool
	// Resync is set on check-ins and check-outs sent as part of a database
	// resync.
	Resync bool
	// Partial is set on a ResyncEnd when the resync did not end with the
	// PMS's end mark but timed out, or the link was lost: guests
	// the resync did not mention must not be taken as checked out.
	Partial bool
	// Time is when the PMS says the event happened, wall clock.
	Time time.Time
}
